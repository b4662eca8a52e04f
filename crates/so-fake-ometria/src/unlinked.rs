//! Unsubscribes listed without a `profile_id`. ometria.md §3 shows the
//! field but not that it is always set [U], so the consent write-back must
//! cope with its absence; this switch lets a test list one that way while
//! the contacts with its email are still opted out, as by any unsubscribe.

use crate::server::FakeOmetria;
use crate::unsubscribes::Unsubscribe;

impl FakeOmetria {
    /// Like [`FakeOmetria::add_unsubscribe`], but `GET /v2/unsubscribes`
    /// lists it with `profile_id: null`. Returns the event as recorded
    /// before the profile id was dropped (with the profile it opted out).
    pub fn add_unsubscribe_without_profile_id(&self, unsubscribe: Unsubscribe) -> Unsubscribe {
        let mut s = self.shared.lock();
        let recorded = s.unsubscribe(unsubscribe);
        if let Some(listed) = s.unsubscribes.last_mut() {
            listed.profile_id = None;
        }
        recorded
    }
}

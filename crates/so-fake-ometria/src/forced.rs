//! Inspection of forced opt-ins (`@force_optin`, ometria.md §2a): a test
//! asks whether the latest write of a contact carried one, which the merged
//! body cannot tell (a directive stays in it once pushed).

use so_domain::ometria::RecordType;

use crate::server::FakeOmetria;

/// How a contact's pushes stand with regard to `@force_optin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForcedState {
    /// Some push of the contact carried `@force_optin: true`.
    pub ever_forced: bool,
    /// Its latest push did.
    pub last_write_forced: bool,
    /// Pushes of the contact so far.
    pub writes: u32,
}

impl FakeOmetria {
    /// The forced-opt-in state of the contact `id` (any collection; the
    /// first by key order), or `None` if it was never pushed.
    pub fn forced_state(&self, id: &str) -> Option<ForcedState> {
        let s = self.shared.lock();
        s.store
            .of_type(RecordType::Contact)
            .find(|(k, _)| k.id == id)
            .map(|(_, r)| ForcedState {
                ever_forced: r.forced_at.is_some(),
                last_write_forced: r.forced_at == Some(r.last_write),
                writes: r.writes,
            })
    }
}

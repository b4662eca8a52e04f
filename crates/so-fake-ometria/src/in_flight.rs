//! Pushes that took effect and have not been answered yet: the window in
//! which a client that dies has written to Ometria without knowing it. A
//! test can hold every answer in that window ([`FakeOmetria::hold_responses`])
//! and see how many pushes are in it ([`FakeOmetria::pushes_in_flight`]),
//! so a kill lands there for certain instead of by timing.

use std::sync::Arc;

use tokio::sync::watch;

use crate::server::FakeOmetria;
use crate::state::Shared;

/// Applied pushes whose answers are still pending.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InFlight {
    pub pushes: usize,
    pub records: usize,
}

#[derive(Debug)]
pub(crate) struct Pending {
    now: InFlight,
    hold: watch::Sender<bool>,
}

impl Default for Pending {
    fn default() -> Self {
        Pending {
            now: InFlight::default(),
            hold: watch::Sender::new(false),
        }
    }
}

/// One push's place in the window; leaves it when dropped (answered, or
/// its connection gone).
pub(crate) struct Entered {
    shared: Arc<Shared>,
    records: usize,
    hold: watch::Receiver<bool>,
}

impl Entered {
    /// Counts a push of `records` applied records as in flight.
    pub(crate) fn new(shared: &Arc<Shared>, records: usize) -> Entered {
        let mut s = shared.lock();
        s.pending.now.pushes += 1;
        s.pending.now.records += records;
        Entered {
            shared: Arc::clone(shared),
            records,
            hold: s.pending.hold.subscribe(),
        }
    }

    /// Returns once answers are not held.
    pub(crate) async fn released(&mut self) {
        // An error means the fake is gone: nothing holds the answer then.
        let _released = self.hold.wait_for(|held| !held).await;
    }
}

impl Drop for Entered {
    fn drop(&mut self) {
        let mut s = self.shared.lock();
        s.pending.now.pushes -= 1;
        s.pending.now.records -= self.records;
    }
}

impl FakeOmetria {
    /// `true`: every push that took effect waits for its answer until
    /// `hold_responses(false)`.
    pub fn hold_responses(&self, hold: bool) {
        self.shared.lock().pending.hold.send_replace(hold);
    }

    /// Pushes applied but not answered yet, and their records.
    pub fn pushes_in_flight(&self) -> InFlight {
        self.shared.lock().pending.now
    }
}

//! Deletes a test's queues and exchanges if the test ends without
//! `TestApp::teardown` (a failed assertion), so they do not weigh on later
//! runs.

use so_queue::Names;

use crate::broker::BrokerProbe;

pub(crate) struct TopologyGuard {
    pub(crate) url: String,
    pub(crate) names: Names,
    pub(crate) armed: bool,
}

impl Drop for TopologyGuard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let (url, names) = (self.url.clone(), self.names.clone());
        // A runtime of its own on another thread: this may run while the
        // test's runtime unwinds.
        let _joined = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                if let Ok(probe) = BrokerProbe::connect_to(&url).await {
                    let _deleted = probe.delete_topology(&names).await;
                    probe.close().await;
                }
            });
        })
        .join();
    }
}

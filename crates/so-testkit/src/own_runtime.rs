//! A service run on a tokio runtime of its own, on its own thread, so that
//! [`OwnRuntime::kill`] ends it the way SIGKILL ends a process: every task
//! and socket at once, nothing drained or acked. [`OwnRuntime::stop`] asks
//! it to shut down gracefully instead.

use std::future::Future;

use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

/// Tells [`OwnRuntime::spawn`] that the service is set up.
pub struct Ready(oneshot::Sender<()>);

impl Ready {
    pub fn ready(self) {
        let _sent = self.0.send(());
    }
}

/// A running service on its own runtime.
pub struct OwnRuntime {
    stop: CancellationToken,
    kill: CancellationToken,
    thread: std::thread::JoinHandle<()>,
}

impl OwnRuntime {
    /// Runs `service(ready, stop)` on a new two-thread runtime and waits
    /// until it calls `ready.ready()`. The service should end when `stop`
    /// is cancelled.
    pub async fn spawn<F, Fut>(service: F) -> OwnRuntime
    where
        F: FnOnce(Ready, CancellationToken) -> Fut + Send + 'static,
        Fut: Future<Output = ()>,
    {
        let (stop, kill) = (CancellationToken::new(), CancellationToken::new());
        let (ready_tx, ready_rx) = oneshot::channel();
        let (stopping, killed) = (stop.clone(), kill.clone());
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("a runtime of its own");
            rt.block_on(async move {
                tokio::select! {
                    () = service(Ready(ready_tx), stopping) => {}
                    () = killed.cancelled() => {}
                }
            });
            // Drops every task and socket without running anything further.
            rt.shutdown_background();
        });
        ready_rx.await.expect("the service started");
        OwnRuntime { stop, kill, thread }
    }

    /// Ends it at once, like SIGKILL.
    pub async fn kill(self) {
        self.kill.cancel();
        let _joined = tokio::task::spawn_blocking(move || self.thread.join()).await;
    }

    /// Asks it to stop and waits until it has.
    pub async fn stop(self) {
        self.stop.cancel();
        let _joined = tokio::task::spawn_blocking(move || self.thread.join()).await;
    }
}

//! Waiting for asynchronous effects without fixed sleeps.

use std::future::Future;
use std::time::{Duration, Instant};

/// Polls `probe` until it returns `Some`, with a short growing interval,
/// failing with the last observation once `deadline` has passed.
pub async fn eventually<T, F, Fut>(deadline: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let started = Instant::now();
    let mut interval = Duration::from_millis(10);
    loop {
        match probe().await {
            Ok(v) => return v,
            Err(last) if started.elapsed() >= deadline => {
                panic!("condition not met within {deadline:?}; last observation: {last}")
            }
            Err(_) => {
                tokio::time::sleep(interval).await;
                interval = (interval * 2).min(Duration::from_millis(200));
            }
        }
    }
}

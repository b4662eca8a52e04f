//! Waiting for a case to come to rest without requiring that it succeeds:
//! the figures are computed afterwards, so a webhook that never arrives
//! shows as `lost`, not as a timeout.

use std::time::{Duration, Instant};

use so_testkit::TestApp;

/// How long a case may take to come to rest after the load ended.
const SETTLE_WITHIN: Duration = Duration::from_secs(90);
/// Quiet for this long (no write, no push, nothing queued) is at rest: longer
/// than the in-process Ometria retries (1 s) and the first retry tier (1 s).
const QUIET_FOR: Duration = Duration::from_secs(3);

/// How the wait ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rest {
    /// Came to rest before the deadline.
    pub(crate) quiet: bool,
    /// Work and retry queues still holding ready messages, as `name=count`.
    pub(crate) stuck: Vec<String>,
    pub(crate) waited: Duration,
}

/// Polls until nothing has moved for [`QUIET_FOR`], or the deadline passes.
pub(crate) async fn settle(app: &TestApp) -> Rest {
    let started = Instant::now();
    let mut last = None;
    let mut since = Instant::now();
    loop {
        let stuck = queued(app).await;
        let fake = app.ometria();
        let activity = (
            fake.writes_applied(),
            fake.push_requests(),
            fake.pushes_in_flight().pushes,
            stuck.clone(),
        );
        if last.as_ref() != Some(&activity) {
            last = Some(activity);
            since = Instant::now();
        }
        let idle = last.as_ref().is_some_and(|a| a.2 == 0 && a.3.is_empty());
        if idle && since.elapsed() >= QUIET_FOR {
            return Rest {
                quiet: true,
                stuck,
                waited: started.elapsed(),
            };
        }
        if started.elapsed() >= SETTLE_WITHIN {
            return Rest {
                quiet: false,
                stuck,
                waited: started.elapsed(),
            };
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Work, retry and unrouted queues with ready messages (dead letters are
/// taken and counted on their own).
async fn queued(app: &TestApp) -> Vec<String> {
    match so_queue::stats::queue_stats(&app.broker).await {
        Ok(stats) => stats
            .iter()
            .filter(|q| matches!(q.role, "work" | "retry" | "unrouted") && q.messages > 0)
            .map(|q| format!("{}={}", q.queue, q.messages))
            .collect(),
        Err(e) => vec![format!("queue stats unreadable: {e}")],
    }
}

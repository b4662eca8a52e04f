//! The load a case sends, and the sender's side of the accounting: which
//! webhook ids got a 200 and after how many sends.
//!
//! Per customer `i` of a case: a `customers/create` (version 1); two in
//! three also get a newer `customers/update` (version 2), so creates that an
//! update overwrites are checked as well as creates that stay; every tenth
//! update is delivered a second time under a new webhook id with the same
//! event id, as Shopify does when two subscriptions carry one event. The
//! version travels in the contact's email (`v2-<id>@example.com`), which
//! the fake's write log records with each write.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use so_testkit::Webhook;

use crate::payloads;

/// How long the sender keeps re-sending one webhook before it gives up
/// (Shopify retries for 48 hours; a case that needs longer has failed).
const GIVE_UP_AFTER: Duration = Duration::from_secs(60);
/// Pause between customers: about 100 webhooks per second.
const PACE: Duration = Duration::from_millis(20);

/// One webhook of the plan.
#[derive(Debug, Clone)]
pub(crate) struct Planned {
    pub(crate) hook: Webhook,
    /// The Shopify customer id (the contact's Ometria id).
    pub(crate) entity: u64,
    pub(crate) version: u32,
}

/// What the sender saw of one planned webhook.
#[derive(Debug, Clone)]
pub(crate) struct Sent {
    pub(crate) webhook_id: String,
    pub(crate) entity: u64,
    pub(crate) version: u32,
    pub(crate) sends: u32,
    pub(crate) acknowledged: bool,
}

/// The email that carries `version` of customer `entity`.
pub(crate) fn email(entity: u64, version: u32) -> String {
    format!("v{version}-{entity}@example.com")
}

/// The version an email written by [`email`] carries.
pub(crate) fn version_of(email: &str) -> Option<u32> {
    email.strip_prefix('v')?.split_once('-')?.0.parse().ok()
}

fn customer_hook(topic: &str, entity: u64, version: u32) -> Planned {
    let updated_at = format!("2026-11-20T1{version}:00:00+00:00");
    let body = payloads::customer(entity, &email(entity, version), &updated_at);
    Planned {
        hook: Webhook::new(topic, serde_json::to_vec(&body).expect("json")),
        entity,
        version,
    }
}

/// The webhooks of `customers` customers from id `base` on, grouped per
/// customer in sending order.
pub(crate) fn plan(base: u64, customers: u64) -> Vec<Vec<Planned>> {
    (0..customers)
        .map(|i| {
            let entity = base + i;
            let mut hooks = vec![customer_hook("customers/create", entity, 1)];
            if i % 3 != 2 {
                let update = customer_hook("customers/update", entity, 2);
                if i % 10 == 0 {
                    let mut copy = update.clone();
                    copy.hook.webhook_id = format!("{}-copy", update.hook.webhook_id);
                    hooks.push(update);
                    hooks.push(copy);
                } else {
                    hooks.push(update);
                }
            }
            hooks
        })
        .collect()
}

/// Sends every planned webhook until it gets a 200 or the sender gives up
/// on it, like Shopify's retries (compressed).
pub(crate) async fn send_all(
    client: &reqwest::Client,
    url: &str,
    plan: &[Vec<Planned>],
    done: &AtomicUsize,
) -> Vec<Sent> {
    let mut sent = Vec::new();
    for customer in plan {
        for p in customer {
            sent.push(send_one(client, url, p).await);
            done.fetch_add(1, Ordering::Relaxed);
        }
        tokio::time::sleep(PACE).await;
    }
    sent
}

async fn send_one(client: &reqwest::Client, url: &str, p: &Planned) -> Sent {
    let started = Instant::now();
    let mut s = Sent {
        webhook_id: p.hook.webhook_id.clone(),
        entity: p.entity,
        version: p.version,
        sends: 0,
        acknowledged: false,
    };
    while started.elapsed() < GIVE_UP_AFTER {
        s.sends += 1;
        let mut req = client.post(url).body(p.hook.body.clone());
        for (k, v) in p.hook.headers("test-secret") {
            req = req.header(k, v);
        }
        let answer = tokio::time::timeout(Duration::from_secs(10), req.send()).await;
        if matches!(answer, Ok(Ok(ref res)) if res.status() == 200) {
            s.acknowledged = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    s
}

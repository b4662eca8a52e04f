//! Small HTTP helpers; tests talk to the fake as a client would.

use std::time::Duration;

use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use so_fake_ometria::{AUTH_HEADER, FakeConfig, FakeOmetria, IdentityRule};

pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Value,
}

impl Reply {
    pub(crate) fn header(&self, name: &str) -> Option<u64> {
        self.headers.get(name)?.to_str().ok()?.parse().ok()
    }
}

pub(crate) async fn fake() -> FakeOmetria {
    FakeOmetria::start(FakeConfig::unlimited()).await
}

/// A fake with the pre-2024 identity rule: contacts may share identifiers,
/// for tests of clustering several listings into one profile.
pub(crate) async fn shared_identifiers_fake() -> FakeOmetria {
    FakeOmetria::start(FakeConfig {
        identity_rule: IdentityRule::Shared,
        ..FakeConfig::unlimited()
    })
    .await
}

/// A fake that counts size and injected refusals in the push response's
/// `rejected`, for the tests about that path.
pub(crate) async fn synchronous_fake() -> FakeOmetria {
    let fake = fake().await;
    fake.set_validation(so_fake_ometria::Validation {
        mode: so_fake_ometria::ValidationMode::Synchronous,
        ..Default::default()
    });
    fake
}

pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

pub(crate) async fn push(fake: &FakeOmetria, body: &Value) -> Reply {
    push_as(fake, Some(fake.api_key()), body.to_string()).await
}

pub(crate) async fn push_as(fake: &FakeOmetria, key: Option<&str>, body: String) -> Reply {
    let mut req = client().post(format!("{}/v2/push", fake.url())).body(body);
    if let Some(k) = key {
        req = req.header(AUTH_HEADER, k);
    }
    reply(req.send().await.unwrap()).await
}

pub(crate) async fn post_as(
    fake: &FakeOmetria,
    path: &str,
    key: Option<&str>,
    body: String,
) -> Reply {
    let mut req = client().post(format!("{}{path}", fake.url())).body(body);
    if let Some(k) = key {
        req = req.header(AUTH_HEADER, k);
    }
    reply(req.send().await.unwrap()).await
}

pub(crate) async fn get(fake: &FakeOmetria, path_and_query: &str) -> Reply {
    let req = client()
        .get(format!("{}{path_and_query}", fake.url()))
        .header(AUTH_HEADER, fake.api_key());
    reply(req.send().await.unwrap()).await
}

async fn reply(r: reqwest::Response) -> Reply {
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let bytes = r.bytes().await.unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        body,
    }
}

pub(crate) fn contact(id: &str, email: &str) -> Value {
    json!({"@type": "contact", "id": id, "email": email})
}

pub(crate) fn order(id: &str) -> Value {
    json!({"@type": "order", "id": id, "timestamp": "2024-05-01T10:00:00Z",
           "grand_total": 10.5, "currency": "GBP"})
}

/// Polls `probe` until it holds or `deadline` passes; never a fixed sleep.
pub(crate) async fn eventually(deadline: Duration, mut probe: impl FnMut() -> bool) {
    let end = tokio::time::Instant::now() + deadline;
    let mut wait = Duration::from_millis(5);
    while !probe() {
        assert!(
            tokio::time::Instant::now() < end,
            "condition not met within {deadline:?}"
        );
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_millis(100));
    }
}

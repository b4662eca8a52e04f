use std::time::Duration;

use serde_json::{Value, json};
use so_domain::ometria::{PushRecord, RecordType};
use so_fake_ometria::{FakeConfig, FakeOmetria};
use so_ometria::{Client, OmetriaSettings, RetryPolicy, RetrySettings};

pub(crate) async fn fake() -> FakeOmetria {
    FakeOmetria::start(FakeConfig::unlimited()).await
}

/// Fast settings: no pacing to speak of, millisecond retries, 2 s budget.
pub(crate) fn settings(fake: &FakeOmetria) -> OmetriaSettings {
    OmetriaSettings {
        api_url: fake.url(),
        api_key: Some(fake.api_key().into()),
        requests_per_second: 1_000.0,
        request_timeout: Duration::from_secs(5),
        rate_limit_pause: Duration::from_millis(50),
        retry: RetrySettings {
            initial_interval: Duration::from_millis(5),
            max_interval: Duration::from_millis(50),
            max_elapsed: Duration::from_secs(2),
            multiplier: 2.0,
        },
        ..OmetriaSettings::default()
    }
}

pub(crate) fn client(settings: &OmetriaSettings) -> Client {
    Client::new(settings)
        .unwrap()
        .with_retry_policy(RetryPolicy::from_settings(&settings.retry).with_jitter(0.0))
}

pub(crate) fn rec(record_type: RecordType, id: &str, extra: Value) -> PushRecord {
    let mut body = json!({"@type": record_type.as_str(), "id": id});
    if let (Some(b), Value::Object(extra)) = (body.as_object_mut(), extra) {
        b.extend(extra);
    }
    let Value::Object(body) = body else {
        unreachable!()
    };
    PushRecord {
        record_type,
        id: id.to_owned(),
        body,
    }
}

pub(crate) fn contact(id: &str) -> PushRecord {
    rec(
        RecordType::Contact,
        id,
        json!({"email": format!("{id}@example.com")}),
    )
}

pub(crate) fn order(id: &str) -> PushRecord {
    rec(
        RecordType::Order,
        id,
        json!({"timestamp": "2024-05-01T10:00:00Z", "grand_total": 12.5, "currency": "GBP"}),
    )
}

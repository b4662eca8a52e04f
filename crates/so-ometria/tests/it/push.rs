use serde_json::json;
use so_domain::ometria::{MAX_RECORD_BYTES, RecordType};
use so_domain::{Disposition, ReasonCode};
use so_fake_ometria::{NOT_VALID, REJECTED_BY_FAULT, TOO_LARGE};
use so_ometria::Error;

use crate::support::{client, contact, fake, order, rec, settings};

#[tokio::test]
async fn push_parses_the_outcome_and_queue_headers() {
    let fake = fake().await;
    let client = client(&settings(&fake));

    let outcome = client
        .push(RecordType::Contact, &[contact("c1"), contact("c2")])
        .await
        .unwrap();

    assert_eq!(
        (outcome.accepted, outcome.rejected, outcome.records_sent),
        (2, 0, 2)
    );
    assert!(outcome.all_accepted());
    assert!(!outcome.request_id.is_empty());
    assert_eq!(outcome.attempts, 1);
    let queue = outcome.queue.unwrap();
    assert_eq!((queue.limit, queue.remaining), (Some(50_000), Some(50_000)));
    assert_eq!(
        fake.record(RecordType::Contact, "c2").unwrap()["email"],
        "c2@example.com"
    );
}

#[tokio::test]
async fn planned_batches_reach_ometria_within_its_request_rules() {
    let fake = fake().await;
    let client = client(&settings(&fake));
    let mut records: Vec<_> = (0..250).map(|i| contact(&format!("c{i}"))).collect();
    records.extend((0..3).map(|i| order(&format!("o{i}"))));
    records.push(rec(
        RecordType::Contact,
        "c7",
        json!({"email": "latest@example.com"}),
    ));
    let big = "x".repeat(MAX_RECORD_BYTES);
    records.push(rec(
        RecordType::Contact,
        "huge",
        json!({"email": "h@example.com", "properties": {"b": big}}),
    ));

    let plan = client.plan_batches(records);
    assert_eq!(
        (plan.coalesced, plan.oversized.len(), plan.batches.len()),
        (1, 1, 4)
    );
    for batch in &plan.batches {
        client
            .push_with_retry(batch.record_type, &batch.records)
            .await
            .unwrap();
    }

    assert_eq!(fake.count(RecordType::Contact), 250);
    assert_eq!(fake.count(RecordType::Order), 3);
    assert_eq!(
        fake.record(RecordType::Contact, "c7").unwrap()["email"],
        "latest@example.com"
    );
    assert_eq!(
        fake.write_count(RecordType::Contact, "c7"),
        1,
        "coalesced, sent once"
    );
    assert!(fake.record(RecordType::Contact, "huge").is_none());
    assert!(
        fake.push_errors()
            .iter()
            .all(|e| e["message"]["error_message"] != TOO_LARGE)
    );
    let sizes: Vec<_> = fake
        .requests()
        .iter()
        .map(|r| (r.record_type, r.records))
        .collect();
    use RecordType::{Contact, Order};
    assert_eq!(
        sizes,
        [
            (Some(Contact), 100),
            (Some(Contact), 100),
            (Some(Contact), 50),
            (Some(Order), 3)
        ]
    );
}

#[tokio::test]
async fn wrong_api_key_fails_permanently_after_one_attempt() {
    let fake = fake().await;
    let mut s = settings(&fake);
    s.api_key = Some("not-the-key".into());
    let client = client(&s);

    let failure = client
        .push_with_retry(RecordType::Contact, &[contact("c1")])
        .await
        .unwrap_err();

    assert_eq!(failure.attempts, 1);
    assert_eq!(failure.error.status(), Some(403));
    assert!(matches!(
        failure.disposition,
        Disposition::DeadLetter {
            reason: ReasonCode::OmetriaUnauthorized,
            ..
        }
    ));
    assert_eq!(fake.push_requests(), 1);
}

#[tokio::test]
async fn request_ometria_refuses_is_dead_lettered_without_retry() {
    let fake = fake().await;
    let client = client(&settings(&fake));
    // The body lacks `id`, which the fake refuses with 400.
    let mut broken = contact("c1");
    broken.body.remove("id");

    let failure = client
        .push_with_retry(RecordType::Contact, &[broken])
        .await
        .unwrap_err();

    assert_eq!(failure.attempts, 1);
    assert!(matches!(
        failure.disposition,
        Disposition::DeadLetter {
            reason: ReasonCode::OmetriaBadRequest,
            ..
        }
    ));
}

#[tokio::test]
async fn local_rule_violations_never_reach_ometria() {
    let fake = fake().await;
    let client = client(&settings(&fake));

    let failure = client
        .push_with_retry(RecordType::Order, &[contact("c1")])
        .await
        .unwrap_err();

    assert_eq!(failure.attempts, 0);
    assert!(matches!(failure.error, Error::InvalidRequest { .. }));
    assert_eq!(fake.push_requests(), 0);
}

#[tokio::test]
async fn rejected_records_are_counted_and_explained_by_push_errors() {
    let fake = fake().await;
    let client = client(&settings(&fake));
    fake.set_validation(so_fake_ometria::Validation {
        mode: so_fake_ometria::ValidationMode::Synchronous,
        ..Default::default()
    });
    fake.reject_ids(["c2"]);
    let mut bad_order = order("o1");
    bad_order.body.insert("currency".into(), json!("pounds"));

    let outcome = client
        .push(RecordType::Contact, &[contact("c1"), contact("c2")])
        .await
        .unwrap();
    let accepted_but_invalid = client.push(RecordType::Order, &[bad_order]).await.unwrap();
    let errors = client.push_errors().await.unwrap();

    assert_eq!((outcome.accepted, outcome.rejected), (1, 1));
    assert!(!outcome.all_accepted());
    assert!(
        accepted_but_invalid.all_accepted(),
        "validation is asynchronous"
    );
    let rejected = errors
        .iter()
        .find(|e| e.record_id.as_deref() == Some("c2"))
        .unwrap();
    assert_eq!(rejected.error_message, REJECTED_BY_FAULT);
    assert_eq!(
        rejected.request_id.as_deref(),
        Some(outcome.request_id.as_str())
    );
    let invalid = errors
        .iter()
        .find(|e| e.record_id.as_deref() == Some("o1"))
        .unwrap();
    assert_eq!(
        (
            invalid.error_message.as_str(),
            invalid.error_path.as_deref()
        ),
        (NOT_VALID, Some("root > currency"))
    );
    assert_eq!(invalid.record_type.as_deref(), Some("order"));
}

#[tokio::test]
async fn asynchronous_refusals_are_read_in_either_shape() {
    let fake = fake().await;
    let client = client(&settings(&fake));
    fake.reject_ids(["c2"]);
    let outcome = client
        .push(RecordType::Contact, &[contact("c1"), contact("c2")])
        .await
        .unwrap();
    assert!(
        outcome.all_accepted(),
        "Ometria says OK and validates later"
    );

    let rich = client.push_errors().await.unwrap();
    assert_eq!(rich.len(), 1);
    assert_eq!(rich[0].record_id.as_deref(), Some("c2"));
    assert_eq!(
        rich[0].request_id.as_deref(),
        Some(outcome.request_id.as_str())
    );

    fake.set_validation(so_fake_ometria::Validation {
        shape: so_fake_ometria::ErrorShape::Documented,
        ..Default::default()
    });
    let plain = client.push_errors().await.unwrap();
    assert_eq!(plain.len(), 1);
    assert_eq!(
        (
            plain[0].error_message.as_str(),
            plain[0].error_path.as_deref()
        ),
        (REJECTED_BY_FAULT, Some("root"))
    );
    assert_eq!(
        (
            plain[0].request_id.as_deref(),
            plain[0].record_id.as_deref()
        ),
        (None, None)
    );
}

use serde_json::json;

use super::*;

fn rec(t: RecordType, id: &str) -> PushRecord {
    let body = json!({"@type": t.as_str(), "id": id});
    let serde_json::Value::Object(body) = body else {
        unreachable!()
    };
    PushRecord {
        record_type: t,
        id: id.to_owned(),
        body,
    }
}

#[test]
fn encode_refuses_what_ometria_would_reject_whole() {
    let e = encode(RecordType::Contact, &[]).unwrap_err();
    assert!(matches!(
        e,
        Error::InvalidRequest {
            reason: InvalidRequest::Empty
        }
    ));
    let many: Vec<_> = (0..101)
        .map(|i| rec(RecordType::Contact, &i.to_string()))
        .collect();
    let e = encode(RecordType::Contact, &many).unwrap_err();
    assert!(matches!(
        e,
        Error::InvalidRequest {
            reason: InvalidRequest::TooManyRecords(101)
        }
    ));
    let mixed = [rec(RecordType::Contact, "c"), rec(RecordType::Order, "o")];
    let e = encode(RecordType::Contact, &mixed).unwrap_err();
    assert_eq!(
        e.to_string(),
        "refused to send an invalid push request: record of type order in a contact request"
    );
}

#[test]
fn encode_writes_a_json_array_of_bodies() {
    let body = encode(RecordType::Order, &[rec(RecordType::Order, "o1")]).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v, json!([{"@type": "order", "id": "o1"}]));
}

#[test]
fn new_requires_an_api_key_and_valid_settings() {
    let e = Client::new(&OmetriaSettings::default()).unwrap_err();
    assert!(matches!(e, Error::MissingApiKey));
    let s = OmetriaSettings {
        batch_max_records: 0,
        api_key: Some("k".into()),
        ..Default::default()
    };
    assert!(matches!(Client::new(&s).unwrap_err(), Error::Settings(_)));
}

#[test]
fn debug_output_never_shows_the_api_key() {
    let s = OmetriaSettings {
        api_key: Some("top-secret-key".into()),
        ..Default::default()
    };
    let client = Client::new(&s).unwrap();
    assert!(!format!("{client:?}").contains("top-secret-key"));
}

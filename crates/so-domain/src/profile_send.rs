//! A profile send's mark on the customer events it publishes.
//!
//! A send (`send-profiles`, or the daily automatic one) publishes each
//! customer as a `customers/update` webhook, like a backfill. The list the
//! merchant chose for this send travels in the payload under
//! [`PROFILE_SEND_KEY`] (Shopify's payloads never hold it, and a webhook
//! from outside cannot add it without the shop's secret), so the worker
//! adds that list to this contact record only: the shop's configured lists
//! are unchanged for every other event.

use serde_json::{Value, json};

use crate::ometria::{ADD_TO_LISTS, PushRecord, RecordType};

/// The payload key of a profile send's choices.
pub const PROFILE_SEND_KEY: &str = "x_so_profile_send";

/// Marks `payload` (a customer webhook body) as sent by send `id`, whose
/// contacts join `list`.
pub fn mark(payload: &mut Value, id: &str, list: Option<u64>) {
    if let Some(body) = payload.as_object_mut() {
        let lists: Vec<u64> = list.into_iter().collect();
        body.insert(
            PROFILE_SEND_KEY.to_owned(),
            json!({"id": id, "lists": lists}),
        );
    }
}

/// The lists a profile send chose for the event whose payload is `raw`.
pub fn lists_of(raw: &Value) -> Vec<u64> {
    raw.get(PROFILE_SEND_KEY)
        .and_then(|m| m.get("lists"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_u64)
                .filter(|l| *l != 0)
                .collect()
        })
        .unwrap_or_default()
}

/// Adds the send's lists to the contact records' `@add_to_lists`.
pub fn apply(raw: &Value, records: &mut [PushRecord]) {
    let lists = lists_of(raw);
    if lists.is_empty() {
        return;
    }
    for r in records
        .iter_mut()
        .filter(|r| r.record_type == RecordType::Contact)
    {
        let mut add: Vec<u64> = r
            .body
            .get(ADD_TO_LISTS)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_u64).collect())
            .unwrap_or_default();
        add.extend(&lists);
        add.sort_unstable();
        add.dedup();
        r.body.insert(ADD_TO_LISTS.to_owned(), Value::from(add));
        // Joining the chosen list wins over leaving it in the same record.
        if let Some(Value::Array(remove)) = r.body.get_mut("@remove_from_lists") {
            remove.retain(|l| l.as_u64().is_none_or(|l| !lists.contains(&l)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sends_list_joins_the_contacts_lists_only_for_a_marked_payload() {
        let mut raw = json!({"id": 1});
        let contact = |body: Value| PushRecord {
            record_type: RecordType::Contact,
            id: "c".to_owned(),
            body: body.as_object().unwrap().clone(),
        };
        let mut records = vec![contact(json!({"id": "c1", "@add_to_lists": [7]}))];
        apply(&raw, &mut records);
        assert_eq!(records[0].body[ADD_TO_LISTS], json!([7]));
        mark(&mut raw, "s1", Some(42));
        assert_eq!(lists_of(&raw), [42]);
        apply(&raw, &mut records);
        assert_eq!(records[0].body[ADD_TO_LISTS], json!([7, 42]));
        let mut bare = vec![contact(json!({"id": "c2", "@remove_from_lists": [42]}))];
        apply(&raw, &mut bare);
        assert_eq!(bare[0].body[ADD_TO_LISTS], json!([42]));
        assert_eq!(bare[0].body["@remove_from_lists"], json!([]));
    }
}

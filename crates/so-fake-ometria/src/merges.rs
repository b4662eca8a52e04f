//! `POST /v2/merge-profile` (shared/reference/ometria.md §2b and the
//! 2026-11-22 addendum §1b): a job that merges the listings named in
//! `customers_to_merge` into the survivor's profile and deletes them. At
//! most 5 identifiers, types `customer_id`, `email_address`,
//! `phone_number`, `profile_hash`; one request per minute per account. The
//! job runs at once here; if the survivor or none of the others resolve it
//! fails, as Ometria documents, but the request itself was accepted.

use serde_json::{Value, json};
use so_domain::ometria::RecordType;

use crate::records::RecordKey;
use crate::state::{Refusal, State};

const TYPES: &[&str] = &[
    "customer_id",
    "email_address",
    "phone_number",
    "profile_hash",
];

fn identifier(v: &Value) -> Option<(&str, &str)> {
    let t = v.get("type")?.as_str()?;
    let value = v.get("value")?.as_str()?;
    (TYPES.contains(&t) && !value.is_empty()).then_some((t, value))
}

fn field(t: &str) -> &str {
    match t {
        "email_address" => "email",
        other => other,
    }
}

fn listings(s: &State, (t, value): (&str, &str)) -> Vec<RecordKey> {
    s.store
        .of_type(RecordType::Contact)
        .filter(|(_, stored)| {
            stored.body.get(field(t)).is_some_and(|v| match v.as_str() {
                // Emails match whatever their case, as everywhere in Ometria.
                Some(s) if t == "email_address" => s.eq_ignore_ascii_case(value),
                Some(s) => s == value,
                None => v.as_u64().is_some_and(|n| n.to_string() == value),
            })
        })
        .map(|(k, _)| k.clone())
        .collect()
}

impl State {
    /// Validates and runs one merge job; returns the job as Ometria would.
    pub(crate) fn merge_profile(&mut self, body: &[u8]) -> Result<Value, Refusal> {
        let bad = |message| Refusal {
            status: 400,
            message,
        };
        let parsed: Value = serde_json::from_slice(body).map_err(|_| bad("Body must be JSON"))?;
        let survivor = parsed.get("survivor").and_then(identifier).ok_or(bad(
            "survivor must be {type, value} with a known identifier type",
        ))?;
        let others = parsed
            .get("customers_to_merge")
            .and_then(Value::as_array)
            .ok_or(bad("customers_to_merge must be an array"))?;
        if others.is_empty() || others.len() > 5 {
            return Err(bad("customers_to_merge holds 1 to 5 identifiers"));
        }
        let others: Vec<(&str, &str)> = others
            .iter()
            .map(identifier)
            .collect::<Option<_>>()
            .ok_or(bad(
                "every customers_to_merge entry must be {type, value} with a known identifier type",
            ))?;
        if !self.merge_bucket.try_take() {
            return Err(Refusal {
                status: 429,
                message: "Too many merge requests (1 per minute)",
            });
        }
        let survivors = listings(self, survivor);
        let merged: Vec<RecordKey> = others
            .iter()
            .flat_map(|id| listings(self, *id))
            .filter(|k| !survivors.contains(k))
            .collect();
        let status = if survivors.is_empty() || merged.is_empty() {
            "failed"
        } else {
            for k in &merged {
                self.store.remove(k);
            }
            "completed"
        };
        let job = json!({
            "id": format!("merge-{}", self.merges.len() + 1),
            "survivor": {"type": survivor.0, "value": survivor.1},
            "customers_to_merge": others.iter().map(|(t, v)| json!({"type": t, "value": v})).collect::<Vec<_>>(),
            "status": status,
            "merged_listings": merged.len(),
        });
        self.merges.push(job.clone());
        Ok(job)
    }
}

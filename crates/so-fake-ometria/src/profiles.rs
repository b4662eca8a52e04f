//! Clustering contacts (listings) into read-only profiles, per ometria.md §2b:
//! by `customer_id` first, then by email.
//!
//! Contacts are visited in first-write order, so the result (including
//! profile ids) is deterministic for a given history:
//! - a contact with a known `customer_id` joins that profile;
//! - a contact with a new `customer_id` joins the email-only profile with its
//!   email if there is one (that profile gains the `customer_id`), else starts
//!   a profile: the same email under different customer ids stays separate;
//! - a contact without `customer_id` joins the profile with its email that has
//!   no `customer_id`, else the only profile with its email, else starts one;
//! - otherwise the phone number is used the same way.
//!
//! Profile fields come from the most recently written contact that has them
//! (all writes here are "API" source, so priority ties go to recency). Opt-in:
//! the latest *forced* (`@force_optin`) value or consent change made in
//! Ometria itself (an unsubscribe, a re-subscribe in the preference centre)
//! wins; without one, any `EXPLICITLY_OPTEDOUT` keeps the profile opted out;
//! else the latest value.

use std::collections::HashMap;

use serde_json::{Map, Value, json};
use so_domain::ometria::RecordType;

use crate::records::{RecordKey, Store, Stored};
use crate::validate::present;

const OPTED_IN: &str = "EXPLICITLY_OPTEDIN";
const OPTED_OUT: &str = "EXPLICITLY_OPTEDOUT";

const FIELDS: [&str; 8] = [
    "email",
    "phone_number",
    "prefix",
    "firstname",
    "lastname",
    "gender",
    "date_of_birth",
    "country_id",
];

struct Cluster<'a> {
    customer_id: Option<String>,
    members: Vec<(&'a RecordKey, &'a Stored)>,
}

/// All profiles, in the order their first contact was written.
pub(crate) fn profiles(store: &Store) -> Vec<Value> {
    let mut contacts: Vec<_> = store.of_type(RecordType::Contact).collect();
    contacts.sort_by_key(|(_, s)| s.first_write);

    let mut clusters: Vec<Cluster<'_>> = Vec::new();
    let mut by_cid: HashMap<String, usize> = HashMap::new();
    let mut by_email: HashMap<String, Vec<usize>> = HashMap::new();
    let mut by_phone: HashMap<String, Vec<usize>> = HashMap::new();

    for (key, stored) in contacts {
        let body = &stored.body;
        let cid = text(body, "customer_id");
        let email = text(body, "email").map(|e| e.to_lowercase());
        let phone = text(body, "phone_number");
        let email_hits = email
            .as_ref()
            .and_then(|e| by_email.get(e))
            .cloned()
            .unwrap_or_default();
        let phone_hits = phone
            .as_ref()
            .and_then(|p| by_phone.get(p))
            .cloned()
            .unwrap_or_default();
        let without_cid = |hits: &[usize]| {
            hits.iter()
                .copied()
                .find(|&i| clusters[i].customer_id.is_none())
        };

        let index = match &cid {
            Some(c) => by_cid.get(c).copied().or_else(|| without_cid(&email_hits)),
            None => without_cid(&email_hits)
                .or_else(|| (email_hits.len() == 1).then(|| email_hits[0]))
                .or_else(|| {
                    if email.is_none() {
                        phone_hits.first().copied()
                    } else {
                        None
                    }
                }),
        };
        let index = index.unwrap_or_else(|| {
            clusters.push(Cluster {
                customer_id: None,
                members: Vec::new(),
            });
            clusters.len() - 1
        });
        let cluster = &mut clusters[index];
        cluster.members.push((key, stored));
        if let Some(c) = cid {
            cluster.customer_id.get_or_insert_with(|| c.clone());
            by_cid.entry(c).or_insert(index);
        }
        for (map, value) in [(&mut by_email, email), (&mut by_phone, phone)] {
            if let Some(v) = value {
                let hits = map.entry(v).or_default();
                if !hits.contains(&index) {
                    hits.push(index);
                }
            }
        }
    }
    clusters.iter().map(render).collect()
}

fn render(cluster: &Cluster<'_>) -> Value {
    let mut recent: Vec<_> = cluster.members.clone();
    recent.sort_by_key(|(_, s)| std::cmp::Reverse(s.last_write));

    let mut profile = Map::new();
    profile.insert("@type".into(), json!("profile"));
    profile.insert("id".into(), json!(profile_id(cluster.members[0].0)));
    profile.insert("customer_id".into(), json!(cluster.customer_id));
    for field in FIELDS {
        let value = recent
            .iter()
            .find(|(_, s)| present(&s.body, field))
            .map(|(_, s)| s.body[field].clone());
        profile.insert(field.into(), value.unwrap_or(Value::Null));
    }
    profile.insert("marketing_optin".into(), optin(&recent));
    let identities: Vec<Value> = cluster
        .members
        .iter()
        .map(|(k, _)| json!({"type": "contact", "collection": k.collection, "id": k.id}))
        .collect();
    profile.insert("identities".into(), Value::Array(identities));
    Value::Object(profile)
}

/// `recent` is newest first.
fn optin(recent: &[(&RecordKey, &Stored)]) -> Value {
    let value = |s: &Stored| {
        s.body
            .get("marketing_optin")
            .filter(|v| !v.is_null())
            .cloned()
    };
    // Forced pushes and consent changes made in Ometria (unsubscribe link,
    // preference centre) beat every other source; the latest of them wins.
    let forced = recent.iter().filter_map(|(_, s)| {
        let at = s.forced_at?;
        value(s).map(|v| (at, v))
    });
    let preferences = recent.iter().filter_map(|(_, s)| {
        let (at, opted_in) = s.preference?;
        Some((at, json!(if opted_in { OPTED_IN } else { OPTED_OUT })))
    });
    if let Some((_, v)) = forced.chain(preferences).max_by_key(|(at, _)| *at) {
        return v;
    }
    let opted_out = json!(OPTED_OUT);
    if recent
        .iter()
        .any(|(_, s)| value(s).as_ref() == Some(&opted_out))
    {
        return opted_out;
    }
    recent
        .iter()
        .find_map(|(_, s)| value(s))
        .unwrap_or(Value::Null)
}

/// The contacts (listings) a rendered profile is made of.
pub(crate) fn members(profile: &Value) -> Vec<RecordKey> {
    profile["identities"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| {
            Some(RecordKey {
                record_type: RecordType::Contact,
                collection: i["collection"].as_str().map(str::to_owned),
                id: i["id"].as_str()?.to_owned(),
            })
        })
        .collect()
}

fn text(body: &Map<String, Value>, key: &str) -> Option<String> {
    match body.get(key)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A stable id shaped like Ometria's (`2695-c473e2-4aaf58`), derived from the
/// profile's first contact.
fn profile_id(key: &RecordKey) -> String {
    // FNV-1a: stable across runs and platforms, unlike `DefaultHasher`.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let raw = format!("{}|{}", key.collection.as_deref().unwrap_or(""), key.id);
    for b in raw.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    format!(
        "{:04x}-{:06x}-{:06x}",
        h >> 48,
        (h >> 24) & 0xff_ffff,
        h & 0xff_ffff
    )
}

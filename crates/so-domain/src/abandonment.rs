//! Abandoned checkouts: when a checkout counts as abandoned, and the
//! Ometria custom event it becomes.
//!
//! Shopify sends no "abandoned" webhook: abandonment is the absence of
//! completion. Each checkout version schedules a delayed check on the
//! broker; when the check comes back, [`decide`] compares the version it was
//! scheduled for with what the store knows by then.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

use crate::identity::ContactRef;
use crate::mapping::{MappingContext, MappingError};
use crate::ometria::{MAX_RECORD_BYTES, PushRecord, RecordType};
use crate::shopify::Checkout;

/// Why a due check sends nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotAbandoned {
    /// No stored state (the checkout had no contact, or was never stored).
    Unknown,
    /// It became an order, or was deleted.
    Completed,
    /// Updated since this check was scheduled; the newer version has its
    /// own check.
    Updated,
    /// The event for this version was already sent.
    AlreadySent,
    /// The contact has a newer checkout: only the latest one is current.
    Superseded,
    /// The contact placed an order since (through another checkout).
    OrderedSince,
}

impl NotAbandoned {
    /// Outcome label for metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            NotAbandoned::Unknown => "checkout_unknown",
            NotAbandoned::Completed => "checkout_completed",
            NotAbandoned::Updated => "checkout_updated",
            NotAbandoned::AlreadySent => "checkout_already_sent",
            NotAbandoned::Superseded => "checkout_superseded",
            NotAbandoned::OrderedSince => "checkout_ordered_since",
        }
    }
}

/// What the store knows when the check for `scheduled` comes due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueFacts {
    /// The version the check was scheduled for (its payload's `updated_at`).
    pub scheduled: DateTime<Utc>,
    /// Stored version and flags; `None` when nothing is stored.
    pub stored_version: Option<DateTime<Utc>>,
    pub completed: bool,
    pub notified_version: Option<DateTime<Utc>>,
    pub contact_has_newer_checkout: bool,
    /// The contact's latest order, if any.
    pub last_order_at: Option<DateTime<Utc>>,
}

/// `Ok(())`: send the abandonment event for `scheduled`.
pub fn decide(f: &DueFacts) -> Result<(), NotAbandoned> {
    let Some(stored) = f.stored_version else {
        return Err(NotAbandoned::Unknown);
    };
    if f.completed {
        return Err(NotAbandoned::Completed);
    }
    if stored > f.scheduled {
        return Err(NotAbandoned::Updated);
    }
    if f.notified_version.is_some_and(|n| n >= f.scheduled) {
        return Err(NotAbandoned::AlreadySent);
    }
    if f.contact_has_newer_checkout {
        return Err(NotAbandoned::Superseded);
    }
    if f.last_order_at.is_some_and(|o| o >= f.scheduled) {
        return Err(NotAbandoned::OrderedSince);
    }
    Ok(())
}

/// Whether a due check may decide yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    /// Every webhook received before the check fell due is settled.
    Decide,
    /// Some may not be (an order completing the checkout could be among
    /// them): look again later.
    Defer,
    /// Not known to be settled, but deferred the longest allowed: decide
    /// anyway, so a stuck partition cannot hold abandonment events forever.
    Overdue,
}

/// Whether a check that fell due at `due` may decide at `now`, given that
/// every message received before `settled_before` is settled (`None`: not
/// known for every partition yet); deferred at most `max_wait` past `due`.
pub fn readiness(
    due: DateTime<Utc>,
    settled_before: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    max_wait: chrono::TimeDelta,
) -> Readiness {
    if settled_before.is_some_and(|s| s >= due) {
        Readiness::Decide
    } else if now - due >= max_wait {
        Readiness::Overdue
    } else {
        Readiness::Defer
    }
}

/// Ometria property strings are at most 512 characters.
/// The address a checkout's reminder would go to: the checkout's own
/// email when it has one, else its customer's; a blank one is none.
pub fn checkout_email(c: &Checkout) -> Option<&str> {
    c.email
        .as_deref()
        .or_else(|| c.customer.as_ref().and_then(|c| c.email.as_deref()))
        .map(str::trim)
        .filter(|e| !e.is_empty())
}

/// A checkout's version: `updated_at`, else `created_at`, else now.
pub fn checkout_version(c: &Checkout, now: DateTime<Utc>) -> DateTime<Utc> {
    c.updated_at
        .or(c.created_at)
        .map_or(now, |t| t.with_timezone(&Utc))
}

/// Longest string property Ometria takes (ometria.md §2e).
const MAX_STRING: usize = 512;

/// A string property, or nothing when it is blank or over Ometria's limit:
/// a cut link or code would be wrong, not shorter.
fn string_property(s: Option<&str>) -> Option<Value> {
    let s = s.map(str::trim).filter(|s| !s.is_empty())?;
    (s.chars().count() <= MAX_STRING).then(|| json!(s))
}

/// The event's properties, each of a type custom events take (ometria.md
/// §2e: string up to 512 characters, boolean, number, date, product
/// list), following the addendum's design: the lines become two product
/// lists (`product_id`: the parent product records, `variant_id`: the
/// variant records, each once, in line order) and a total `quantity`;
/// an array of line objects is no custom-event type.
fn properties(ctx: &MappingContext, checkout: &Checkout) -> Map<String, Value> {
    let mut products: Vec<String> = Vec::new();
    let mut variants: Vec<String> = Vec::new();
    for line in &checkout.line_items {
        let Some(product) = line.product_id else {
            continue;
        };
        let id = ctx.namespace.id(product);
        if !products.contains(&id) {
            products.push(id);
        }
        if let Some(v) = line.variant_id {
            let id = ctx.namespace.id(format_args!("{product}_{v}"));
            if !variants.contains(&id) {
                variants.push(id);
            }
        }
    }
    let quantity: u64 = checkout.line_items.iter().map(|l| l.quantity).sum();
    let pairs = [
        (
            "checkout_url",
            string_property(checkout.abandoned_checkout_url.as_deref()),
        ),
        ("currency", string_property(checkout.currency.as_deref())),
        ("total", checkout.total_price.map(|t| t.to_json())),
        ("quantity", Some(json!(quantity))),
        ("product_id", Some(json!(products))),
        ("variant_id", Some(json!(variants))),
        ("store", string_property(Some(&ctx.store))),
    ];
    pairs
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v)))
        .collect()
}

/// The custom event for an abandoned checkout: id = the checkout token (no
/// PII), identity by account id for customers and by email for everyone.
pub fn custom_event(
    ctx: &MappingContext,
    contact: &ContactRef,
    checkout: &Checkout,
    event_type: &str,
) -> Result<PushRecord, MappingError> {
    let token = checkout.key().unwrap_or_default();
    let id = ctx.namespace.id(format_args!("checkout_{token}"));
    let when = checkout
        .updated_at
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(ctx.event_time);
    let mut body = Map::new();
    body.insert("@type".to_owned(), json!("custom_event"));
    body.insert("id".to_owned(), json!(id));
    body.insert(
        "timestamp".to_owned(),
        json!(when.to_rfc3339_opts(SecondsFormat::Secs, false)),
    );
    body.insert(
        "event_type".to_owned(),
        json!(event_type.chars().take(32).collect::<String>()),
    );
    if let Some(account) = contact.customer_id() {
        body.insert("identity_account_id".to_owned(), json!(account));
    }
    let email = checkout
        .email
        .as_deref()
        .or_else(|| checkout.customer.as_ref().and_then(|c| c.email.as_deref()))
        .map(str::trim)
        .filter(|e| !e.is_empty());
    if let Some(email) = email {
        body.insert("identity_email".to_owned(), json!(email));
    }
    body.insert(
        "properties".to_owned(),
        Value::Object(properties(ctx, checkout)),
    );
    let bytes = serde_json::to_vec(&body).map_or(usize::MAX, |v| v.len());
    if bytes > MAX_RECORD_BYTES {
        return Err(MappingError::RecordTooLarge {
            record_type: RecordType::CustomEvent,
            id,
            bytes,
        });
    }
    Ok(PushRecord {
        record_type: RecordType::CustomEvent,
        id,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ShopDomain;
    use crate::Topic;
    use crate::identity::Namespace;
    use crate::shopify::{ShopifyId, ShopifyPayload, decode};

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + secs, 0).unwrap()
    }

    fn facts() -> DueFacts {
        DueFacts {
            scheduled: at(100),
            stored_version: Some(at(100)),
            completed: false,
            notified_version: None,
            contact_has_newer_checkout: false,
            last_order_at: Some(at(10)),
        }
    }

    #[test]
    fn a_checkout_left_alone_is_abandoned_once() {
        assert_eq!(decide(&facts()), Ok(()));
        let cases = [
            (
                DueFacts {
                    stored_version: None,
                    ..facts()
                },
                NotAbandoned::Unknown,
            ),
            (
                DueFacts {
                    completed: true,
                    ..facts()
                },
                NotAbandoned::Completed,
            ),
            (
                DueFacts {
                    stored_version: Some(at(101)),
                    ..facts()
                },
                NotAbandoned::Updated,
            ),
            (
                DueFacts {
                    notified_version: Some(at(100)),
                    ..facts()
                },
                NotAbandoned::AlreadySent,
            ),
            (
                DueFacts {
                    contact_has_newer_checkout: true,
                    ..facts()
                },
                NotAbandoned::Superseded,
            ),
            (
                DueFacts {
                    last_order_at: Some(at(100)),
                    ..facts()
                },
                NotAbandoned::OrderedSince,
            ),
        ];
        for (f, why) in cases {
            assert_eq!(decide(&f), Err(why), "{f:?}");
        }
        // A newer version after an event for an older one: sent again.
        let again = DueFacts {
            notified_version: Some(at(50)),
            ..facts()
        };
        assert_eq!(decide(&again), Ok(()));
    }

    #[test]
    fn the_event_carries_the_recovery_link_totals_and_lines_without_pii_in_its_id() {
        let raw = include_str!(
            "../../../../shared/fixtures/shopify/webhook-2026-07-checkouts__update.json"
        );
        let ShopifyPayload::Checkout(c) = decode(Topic::CheckoutsUpdate, raw.as_bytes()).unwrap()
        else {
            panic!("not a checkout");
        };
        let shop = ShopDomain::parse("uk.myshopify.com").unwrap();
        let ns = Namespace::parse("uk:").unwrap();
        let ctx = MappingContext::new(&shop, ns.clone(), at(0));
        let contact = ContactRef::customer(&ns, ShopifyId::new(42));
        let r = custom_event(&ctx, &contact, &c, "abandoned_checkout").unwrap();
        assert_eq!(r.record_type, RecordType::CustomEvent);
        assert!(r.id.starts_with("uk:checkout_"), "{}", r.id);
        assert!(!r.id.contains('@'));
        assert_eq!(r.body["event_type"], "abandoned_checkout");
        assert_eq!(r.body["identity_account_id"], "uk:42");
        let p = &r.body["properties"];
        assert_eq!(p["checkout_url"], json!(c.abandoned_checkout_url));
        assert_eq!(p["store"], "uk.myshopify.com");
        assert_eq!(p["product_id"], json!(["uk:632910392"]));
        assert_eq!(p["variant_id"], json!(["uk:632910392_808950810"]));
        assert_eq!(p["quantity"], json!(2), "two lines of one each");
        assert_eq!(p["currency"], "USD");
        assert!(p["total"].is_number());
        // Only the types Ometria's custom events take.
        for (key, value) in p.as_object().unwrap() {
            let ok = match value {
                Value::String(s) => s.chars().count() <= MAX_STRING,
                Value::Bool(_) | Value::Number(_) => true,
                Value::Array(items) => items.iter().all(Value::is_string),
                _ => false,
            };
            assert!(ok, "{key}: {value}");
        }
        let mut long = c;
        long.abandoned_checkout_url = Some(format!("https://x/{}", "a".repeat(600)));
        let r = custom_event(&ctx, &contact, &long, "abandoned_checkout").unwrap();
        assert!(r.body["properties"].get("checkout_url").is_none());
    }

    #[test]
    fn a_checkout_is_versioned_and_addressed_from_its_own_fields_first() {
        let raw = include_str!(
            "../../../../shared/fixtures/shopify/webhook-2026-07-checkouts__update.json"
        );
        let ShopifyPayload::Checkout(mut c) =
            decode(Topic::CheckoutsUpdate, raw.as_bytes()).unwrap()
        else {
            panic!("not a checkout");
        };
        c.email = None;
        let customers = c.customer.as_ref().and_then(|c| c.email.clone());
        assert_eq!(checkout_email(&c).map(str::to_owned), customers);
        c.email = Some("  ".to_owned());
        assert_eq!(checkout_email(&c), None);
        c.email = Some(" a@example.com ".to_owned());
        assert_eq!(checkout_email(&c), Some("a@example.com"));

        c.updated_at = None;
        c.created_at = None;
        assert_eq!(checkout_version(&c, at(7)), at(7));
        c.created_at = Some(at(3).fixed_offset());
        assert_eq!(checkout_version(&c, at(7)), at(3));
        c.updated_at = Some(at(5).fixed_offset());
        assert_eq!(checkout_version(&c, at(7)), at(5));
    }

    #[test]
    fn a_check_decides_only_once_everything_received_before_it_fell_due_is_settled() {
        use super::{Readiness, readiness};
        let at = |s: i64| DateTime::<Utc>::from_timestamp(1_800_000_000 + s, 0).unwrap();
        let hour = chrono::TimeDelta::hours(1);
        let due = at(0);
        assert_eq!(readiness(due, Some(at(0)), at(5), hour), Readiness::Decide);
        assert_eq!(readiness(due, Some(at(9)), at(5), hour), Readiness::Decide);
        assert_eq!(
            readiness(due, Some(at(-1)), at(5), hour),
            Readiness::Defer,
            "an order received just before it fell due may be unprocessed"
        );
        assert_eq!(
            readiness(due, None, at(5), hour),
            Readiness::Defer,
            "a partition that recorded nothing yet"
        );
        assert_eq!(
            readiness(due, Some(at(-1)), at(3_599), hour),
            Readiness::Defer
        );
        assert_eq!(
            readiness(due, Some(at(-1)), at(3_600), hour),
            Readiness::Overdue,
            "bounded: a stuck partition does not hold the event forever"
        );
        assert_eq!(readiness(due, None, at(7_200), hour), Readiness::Overdue);
    }
}

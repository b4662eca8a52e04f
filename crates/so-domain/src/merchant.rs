//! What a merchant chooses per shop: which profiles reach Ometria, which
//! behavioural attributes are kept on the contact, which lists a contact
//! joins, and whether abandoned checkouts become custom events.
//!
//! Plain data with serde defaults, deserialized by the configuration (and
//! serialized back by `check-config`) and read by the mapping; the
//! decisions built on them live next to the records they shape
//! ([`crate::mapping`], [`crate::behaviour`]).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ometria::{PushRecord, RecordType};

/// Which profiles are sent to Ometria.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProfileFilter {
    /// Every customer and guest buyer.
    #[default]
    All,
    /// Only people whose email marketing consent is `subscribed`. The
    /// records of everyone else are held back in the store and sent, with
    /// their history, when they subscribe.
    Subscribers,
}

impl ProfileFilter {
    pub fn as_str(self) -> &'static str {
        match self {
            ProfileFilter::All => "all",
            ProfileFilter::Subscribers => "subscribers",
        }
    }
}

/// The behavioural attributes kept current on the contact, each one on or
/// off. All on by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct BehaviourAttributes {
    pub orders_count: bool,
    /// Net of refunds.
    pub total_spent: bool,
    pub average_order_value: bool,
    pub first_order_date: bool,
    pub last_order_date: bool,
    pub last_order_total: bool,
    pub last_order_quantity: bool,
}

impl Default for BehaviourAttributes {
    fn default() -> Self {
        BehaviourAttributes {
            orders_count: true,
            total_spent: true,
            average_order_value: true,
            first_order_date: true,
            last_order_date: true,
            last_order_total: true,
            last_order_quantity: true,
        }
    }
}

impl BehaviourAttributes {
    pub const NONE: BehaviourAttributes = BehaviourAttributes {
        orders_count: false,
        total_spent: false,
        average_order_value: false,
        first_order_date: false,
        last_order_date: false,
        last_order_total: false,
        last_order_quantity: false,
    };

    pub fn any(&self) -> bool {
        *self != BehaviourAttributes::NONE
    }

    /// The switched-on attributes by name, for printing the configuration.
    pub fn enabled(&self) -> Vec<&'static str> {
        [
            (self.orders_count, "orders_count"),
            (self.total_spent, "total_spent"),
            (self.average_order_value, "average_order_value"),
            (self.first_order_date, "first_order_date"),
            (self.last_order_date, "last_order_date"),
            (self.last_order_total, "last_order_total"),
            (self.last_order_quantity, "last_order_quantity"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect()
    }
}

/// Ometria list ids a synced contact is added to (`@add_to_lists`) or
/// removed from (`@remove_from_lists`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ListSettings {
    /// Every contact this shop sends joins these lists.
    pub every_contact: Vec<u64>,
    /// A contact joins these when its email consent becomes subscribed and
    /// leaves them when it unsubscribes.
    pub subscribers: Vec<u64>,
}

impl ListSettings {
    pub fn is_empty(&self) -> bool {
        self.every_contact.is_empty() && self.subscribers.is_empty()
    }

    /// Adds the list directives to every contact record: `every_contact`
    /// always; `subscribers` joined on an explicit opt-in and left on an
    /// explicit opt-out (a record that says nothing about consent leaves
    /// membership alone).
    pub fn apply(&self, records: &mut [PushRecord]) {
        if self.is_empty() {
            return;
        }
        for r in records
            .iter_mut()
            .filter(|r| r.record_type == RecordType::Contact)
        {
            let optin = r.body.get("marketing_optin").and_then(Value::as_str);
            let mut add: Vec<u64> = self.every_contact.clone();
            let mut remove: Vec<u64> = Vec::new();
            match optin {
                Some(OPTED_IN) => add.extend(&self.subscribers),
                Some(OPTED_OUT) => remove.extend(&self.subscribers),
                _ => {}
            }
            // A list in both (every contact, and subscribers on opt-out)
            // stays joined: `every_contact` means every contact.
            remove.retain(|l| !add.contains(l));
            add.sort_unstable();
            add.dedup();
            remove.sort_unstable();
            remove.dedup();
            if !add.is_empty() {
                r.body.insert("@add_to_lists".to_owned(), Value::from(add));
            }
            if !remove.is_empty() {
                r.body
                    .insert("@remove_from_lists".to_owned(), Value::from(remove));
            }
        }
    }
}

const OPTED_IN: &str = "EXPLICITLY_OPTEDIN";
const OPTED_OUT: &str = "EXPLICITLY_OPTEDOUT";

/// What a batch of one event's records says about the contact's email
/// subscription: `Some(true)` opted in, `Some(false)` opted out or not
/// specified, `None` when no contact record carries `marketing_optin`.
pub fn subscription_signal(records: &[PushRecord]) -> Option<bool> {
    records
        .iter()
        .filter(|r| r.record_type == RecordType::Contact)
        .filter_map(|r| r.body.get("marketing_optin").and_then(Value::as_str))
        .next_back()
        .map(|v| v == OPTED_IN)
}

/// What a subscribers-only shop does with one event's records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileGate {
    /// Send them: the contact was a subscriber already, so Ometria knows
    /// it (an unsubscribe of a contact that was sent still goes out).
    Send,
    /// The contact subscribes now: send what was held for it first, then
    /// these.
    ReleaseThenSend,
    /// Not a subscriber: hold them until it subscribes.
    Hold,
}

/// The gate for a contact whose records say `signal` (see
/// [`subscription_signal`]) and whose last known subscription is `before`.
pub fn profile_gate(signal: Option<bool>, before: Option<bool>) -> ProfileGate {
    let subscribed = signal.or(before).unwrap_or(false);
    match (subscribed, before == Some(true)) {
        (_, true) => ProfileGate::Send,
        (true, false) => ProfileGate::ReleaseThenSend,
        (false, false) => ProfileGate::Hold,
    }
}

/// Abandoned checkouts as Ometria custom events.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AbandonedCheckoutSettings {
    /// Off until Ometria has set up the event type (they must, before an
    /// event of a new type is accepted).
    pub enabled: bool,
    /// How long after its last update a checkout that has not completed
    /// counts as abandoned, in seconds.
    pub delay_secs: u64,
    /// Ometria `event_type` (at most 32 characters).
    pub event_type: String,
}

impl Default for AbandonedCheckoutSettings {
    fn default() -> Self {
        AbandonedCheckoutSettings {
            enabled: false,
            delay_secs: 3_600,
            event_type: "abandoned_checkout".to_owned(),
        }
    }
}

impl AbandonedCheckoutSettings {
    /// Every invalid value, each naming its key (relative to the shop).
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !(1..=7 * 24 * 3600).contains(&self.delay_secs) {
            out.push("abandoned_checkouts.delay_secs must be 1..=604800 (7 days)".to_owned());
        }
        let name_ok = !self.event_type.is_empty()
            && self.event_type.len() <= 32
            && self
                .event_type
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !name_ok {
            out.push(
                "abandoned_checkouts.event_type must be 1-32 letters, digits or '_' (Ometria truncates longer names)"
                    .to_owned(),
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn contact(optin: Option<&str>) -> PushRecord {
        let mut body = json!({"@type": "contact", "id": "c1"});
        if let Some(o) = optin {
            body["marketing_optin"] = json!(o);
        }
        PushRecord {
            record_type: RecordType::Contact,
            id: "c1".to_owned(),
            body: body.as_object().unwrap().clone(),
        }
    }

    #[test]
    fn lists_follow_consent() {
        let lists = ListSettings {
            every_contact: vec![7],
            subscribers: vec![42, 43],
        };
        let mut r = [
            contact(Some(OPTED_IN)),
            contact(Some(OPTED_OUT)),
            contact(None),
        ];
        lists.apply(&mut r);
        assert_eq!(r[0].body["@add_to_lists"], json!([7, 42, 43]));
        assert!(!r[0].body.contains_key("@remove_from_lists"));
        assert_eq!(r[1].body["@add_to_lists"], json!([7]));
        assert_eq!(r[1].body["@remove_from_lists"], json!([42, 43]));
        assert_eq!(r[2].body["@add_to_lists"], json!([7]));
        assert!(!r[2].body.contains_key("@remove_from_lists"));
        let mut untouched = [contact(Some(OPTED_IN))];
        ListSettings::default().apply(&mut untouched);
        assert!(!untouched[0].body.contains_key("@add_to_lists"));
    }

    #[test]
    fn only_subscribers_are_sent_and_their_held_records_go_first() {
        use ProfileGate::*;
        let cases = [
            (None, None, Hold),
            (Some(false), None, Hold),
            (Some(false), Some(false), Hold),
            (Some(true), None, ReleaseThenSend),
            (Some(true), Some(false), ReleaseThenSend),
            (None, Some(true), Send),
            (Some(true), Some(true), Send),
            // An unsubscribe of a contact that was sent still goes out.
            (Some(false), Some(true), Send),
        ];
        for (signal, before, gate) in cases {
            assert_eq!(profile_gate(signal, before), gate, "{signal:?} {before:?}");
        }
    }

    #[test]
    fn subscription_signal_reads_the_last_consent() {
        assert_eq!(subscription_signal(&[contact(None)]), None);
        assert_eq!(subscription_signal(&[contact(Some(OPTED_IN))]), Some(true));
        assert_eq!(
            subscription_signal(&[contact(Some(OPTED_IN)), contact(Some("NOT_SPECIFIED"))]),
            Some(false)
        );
    }

    #[test]
    fn checkout_settings_are_checked() {
        let bad = AbandonedCheckoutSettings {
            enabled: true,
            delay_secs: 0,
            event_type: "x".repeat(33),
        };
        let p = bad.problems();
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].contains("delay_secs") && p[1].contains("event_type"));
        assert!(AbandonedCheckoutSettings::default().problems().is_empty());
    }
}

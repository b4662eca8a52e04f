//! The plan that brings a shop's shop-specific webhook subscriptions in line
//! with what the worker handles (`shared/reference/shopify-apps.md` §5.3,
//! §6): pure, so `webhooks check` and `webhooks sync` and the daily run
//! share one decision.
//!
//! Every subscription the `webhookSubscriptions` query lists belongs to this
//! app, so one at another address is not someone else's: it is either an
//! old address of this service (the callback path at another host, or
//! another path at the public host), which is fixed, or a deliberate one
//! (Pub/Sub, EventBridge, another receiver), which is left alone and
//! reported.

use std::collections::BTreeMap;

use crate::topic::Topic;

/// The ingress's callback path, appended to the public URL.
pub const CALLBACK_PATH: &str = "/webhooks/shopify";

/// One shop-specific subscription as Shopify lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// `gid://shopify/WebhookSubscription/…`.
    pub id: String,
    /// GraphQL spelling, e.g. `ORDERS_CREATE`.
    pub topic: String,
    pub uri: String,
    /// The payload version Shopify serialises in, if listed.
    pub api_version: Option<String>,
}

/// What the service wants subscribed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    /// `<public URL>/webhooks/shopify`.
    pub uri: String,
    /// The pinned Admin API version.
    pub api_version: String,
    pub topics: Vec<Topic>,
    /// Scopes the app holds, if known: topics whose read scope is missing
    /// are reported instead of attempted.
    pub granted_scopes: Option<Vec<String>>,
}

impl Desired {
    /// Every topic the worker handles that the API can subscribe to (the
    /// compliance topics only come from the app's configuration).
    pub fn for_public_url(public_url: &str, api_version: &str) -> Desired {
        Desired {
            uri: callback_uri(public_url),
            api_version: api_version.to_owned(),
            topics: api_topics().collect(),
            granted_scopes: None,
        }
    }
}

/// `<public URL>/webhooks/shopify`, without a doubled slash.
pub fn callback_uri(public_url: &str) -> String {
    format!("{}{CALLBACK_PATH}", public_url.trim_end_matches('/'))
}

/// Topics subscribed through the Admin API: all but the compliance ones.
pub fn api_topics() -> impl Iterator<Item = Topic> {
    Topic::ALL.into_iter().filter(|t| !is_compliance(*t))
}

/// Set only in `shopify.app.toml` or the Dev Dashboard, never by the API.
pub fn is_compliance(topic: Topic) -> bool {
    matches!(
        topic,
        Topic::CustomersRedact | Topic::CustomersDataRequest | Topic::ShopRedact
    )
}

/// `orders/create` → `ORDERS_CREATE`, `customer.tags_added` →
/// `CUSTOMER_TAGS_ADDED`.
pub fn graphql_topic(topic: Topic) -> String {
    topic
        .as_str()
        .chars()
        .map(|c| match c {
            '/' | '.' => '_',
            c => c.to_ascii_uppercase(),
        })
        .collect()
}

/// The scope a topic's subscription needs (shopify.md §3).
pub fn read_scope(topic: Topic) -> &'static str {
    let name = topic.as_str();
    if topic == Topic::CustomersMerge {
        "read_customer_merge"
    } else if name.starts_with("orders/")
        || name.starts_with("refunds/")
        || name.starts_with("checkouts/")
    {
        "read_orders"
    } else if name.starts_with("products/") {
        "read_products"
    } else if name.starts_with("fulfillments/") {
        "read_fulfillments"
    } else if name.starts_with("app/") {
        ""
    } else {
        "read_customers"
    }
}

/// Whether the topic's payload carries protected customer data, so the
/// subscription needs the app's approval (shopify-apps.md §8).
pub fn needs_protected_data(topic: Topic) -> bool {
    !matches!(read_scope(topic), "" | "read_products")
}

/// Why a topic cannot be subscribed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Blocked {
    MissingScope(String),
    ProtectedDataNotApproved,
    /// Another userError, verbatim.
    Refused(String),
}

impl std::fmt::Display for Blocked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Blocked::MissingScope(s) => write!(f, "cannot subscribe: missing scope {s}"),
            Blocked::ProtectedDataNotApproved => {
                f.write_str("protected customer data not approved")
            }
            Blocked::Refused(m) => write!(f, "cannot subscribe: {m}"),
        }
    }
}

/// One change to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Create {
        topic: Topic,
    },
    /// Point an old address of this service at the right one.
    Update {
        id: String,
        topic: Topic,
        from: String,
    },
    /// The same topic at the same address twice (or an old address of
    /// this service where the right one exists): deliveries would double.
    Delete {
        id: String,
        topic: Topic,
        uri: String,
    },
}

/// The state of one topic or subscription, as the drift metric counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum State {
    Ok,
    Missing,
    WrongAddress,
    Duplicate,
    Foreign,
    WrongVersion,
    CannotSubscribe,
}

impl State {
    pub const ALL: [State; 7] = [
        State::Ok,
        State::Missing,
        State::WrongAddress,
        State::Duplicate,
        State::Foreign,
        State::WrongVersion,
        State::CannotSubscribe,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Ok => "ok",
            State::Missing => "missing",
            State::WrongAddress => "wrong_address",
            State::Duplicate => "duplicate",
            State::Foreign => "foreign",
            State::WrongVersion => "wrong_version",
            State::CannotSubscribe => "cannot_subscribe",
        }
    }

    /// Whether `webhooks check` calls it drift (exit 1). Foreign
    /// subscriptions are the merchant's choice.
    pub fn is_drift(self) -> bool {
        !matches!(self, State::Ok | State::Foreign)
    }
}

/// The plan for one shop.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub actions: Vec<Action>,
    /// Topics subscribed correctly.
    pub ok: Vec<Topic>,
    /// Subscriptions at addresses that are not this service's: left alone.
    pub foreign: Vec<Listed>,
    /// Subscriptions whose payload version differs from the pinned one:
    /// the API cannot change it (it is the app's webhook API version, set
    /// in the Dev Dashboard or `shopify.app.toml`).
    pub wrong_version: Vec<Listed>,
    /// Topics known to be impossible to subscribe, and why.
    pub blocked: BTreeMap<String, Blocked>,
}

impl Plan {
    /// Count per state: every desired topic once (ok, missing, wrong
    /// address or cannot subscribe), plus every duplicate, foreign and
    /// wrong-version subscription.
    pub fn counts(&self) -> BTreeMap<State, u64> {
        let mut counts: BTreeMap<State, u64> = State::ALL.iter().map(|s| (*s, 0)).collect();
        let mut add = |s: State| *counts.entry(s).or_default() += 1;
        self.ok.iter().for_each(|_| add(State::Ok));
        self.blocked
            .values()
            .for_each(|_| add(State::CannotSubscribe));
        for a in &self.actions {
            add(match a {
                Action::Create { .. } => State::Missing,
                Action::Update { .. } => State::WrongAddress,
                Action::Delete { .. } => State::Duplicate,
            });
        }
        self.foreign.iter().for_each(|_| add(State::Foreign));
        self.wrong_version
            .iter()
            .for_each(|_| add(State::WrongVersion));
        counts
    }

    /// Whether anything is out of order.
    pub fn has_drift(&self) -> bool {
        self.counts().iter().any(|(s, n)| s.is_drift() && *n > 0)
    }
}

/// Compares what Shopify lists with what is desired.
pub fn plan(desired: &Desired, listed: &[Listed]) -> Plan {
    let mut out = Plan::default();
    let mut by_topic: BTreeMap<&str, Vec<&Listed>> = BTreeMap::new();
    for l in listed {
        by_topic.entry(l.topic.as_str()).or_default().push(l);
    }
    for topic in &desired.topics {
        let name = graphql_topic(*topic);
        let subs = by_topic.remove(name.as_str()).unwrap_or_default();
        plan_topic(desired, *topic, &name, &subs, &mut out);
    }
    // Topics the worker does not handle (or compliance ones): not ours to
    // change.
    out.foreign
        .extend(by_topic.into_values().flatten().cloned());
    out
}

fn plan_topic(desired: &Desired, topic: Topic, name: &str, subs: &[&Listed], out: &mut Plan) {
    let (right, rest): (Vec<&Listed>, Vec<&Listed>) =
        subs.iter().partition(|l| l.uri == desired.uri);
    let (ours, foreign): (Vec<&Listed>, Vec<&Listed>) = rest
        .into_iter()
        .partition(|l| is_old_address(&l.uri, &desired.uri));
    out.foreign.extend(foreign.into_iter().cloned());
    let mut ours = ours.into_iter();
    let kept = match right.first() {
        Some(first) => Some(*first),
        None => ours.next().inspect(|old| {
            out.actions.push(Action::Update {
                id: old.id.clone(),
                topic,
                from: old.uri.clone(),
            });
        }),
    };
    for extra in right.iter().skip(1).copied().chain(ours) {
        out.actions.push(Action::Delete {
            id: extra.id.clone(),
            topic,
            uri: extra.uri.clone(),
        });
    }
    match kept {
        Some(k) => {
            if k.api_version
                .as_deref()
                .is_some_and(|v| v != desired.api_version)
            {
                out.wrong_version.push(k.clone());
            }
            if !right.is_empty() {
                out.ok.push(topic);
            }
        }
        None => match missing_scope(desired, topic) {
            Some(scope) => {
                out.blocked
                    .insert(name.to_owned(), Blocked::MissingScope(scope.to_owned()));
            }
            None => out.actions.push(Action::Create { topic }),
        },
    }
}

fn missing_scope(desired: &Desired, topic: Topic) -> Option<&'static str> {
    let scope = read_scope(topic);
    let granted = desired.granted_scopes.as_ref()?;
    // A write scope implies its read scope.
    let write = scope.replacen("read_", "write_", 1);
    (!scope.is_empty() && !granted.iter().any(|g| g == scope || *g == write)).then_some(scope)
}

/// An earlier address of this service: the callback path at another host,
/// or another path at the public host.
fn is_old_address(uri: &str, desired: &str) -> bool {
    let (Some((host, path)), Some((want_host, _))) = (split(uri), split(desired)) else {
        return false;
    };
    path.trim_end_matches('/') == CALLBACK_PATH || host == want_host
}

/// `https://host/path` → `(host, path)`; `None` for other schemes.
fn split(uri: &str) -> Option<(&str, &str)> {
    let rest = uri
        .strip_prefix("https://")
        .or_else(|| uri.strip_prefix("http://"))?;
    let cut = rest.find(['/', '?']).unwrap_or(rest.len());
    Some((&rest[..cut], &rest[cut..]))
}

#[cfg(test)]
#[path = "subscriptions_tests.rs"]
mod tests;

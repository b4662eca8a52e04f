//! `webhooks check|sync`: a shop's shop-specific subscriptions against
//! every topic the worker handles at `<shopify.public_url>/webhooks/shopify`
//! (`so_domain::subscriptions` decides; this runs it), the drift metric,
//! and [`after_connect`] for code that has just connected a shop.
//!
//! App-specific subscriptions (`shopify.app.toml`) are never listed, so a
//! shop with none listed either uses them or has none. Creating
//! shop-specific ones beside app-specific ones would deliver every webhook
//! twice, so from nothing this creates them only for a legacy custom app
//! (static token: it cannot have app-specific ones) or when asked to.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use so_domain::ShopDomain;
use so_domain::subscriptions::{
    Action, Blocked, Desired, Listed, Plan, State, graphql_topic, plan,
};
use so_platform::Config;
use so_platform::webhook_metrics::webhook_subscriptions;
use so_shopify_admin::{AccessKind, AdminClient, AdminError, blocked_reason};

use crate::{SyncError, clients};

/// Which kind of subscriptions a shop uses, as far as the API shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Shop-specific subscriptions are listed: this command keeps them.
    ShopSpecific,
    /// None listed, and the shop is managed here (a legacy custom app, or
    /// `--shop-specific`): they are missing.
    NoneListedManaged,
    /// None listed on a Dev Dashboard app: app-specific subscriptions from
    /// `shopify.app.toml` if the app was deployed with them (the API
    /// cannot tell), else none. Left alone.
    NoneListedAppSpecific,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::ShopSpecific => "shop_specific",
            Kind::NoneListedManaged => "none_listed",
            Kind::NoneListedAppSpecific => "app_specific_or_none",
        }
    }

    pub fn explain(self) -> &'static str {
        match self {
            Kind::ShopSpecific => {
                "shop-specific subscriptions (listed by the Admin API); kept by `webhooks sync`"
            }
            Kind::NoneListedManaged => {
                "no shop-specific subscriptions are listed; `webhooks sync` creates them"
            }
            Kind::NoneListedAppSpecific => {
                "no shop-specific subscriptions are listed: the app uses app-specific subscriptions from shopify.app.toml (not listed by Shopify; if webhooks arrive, that is the case), or has none. Deploy shopify.app.toml, or run `webhooks sync --shop-specific` to create shop-specific ones instead (never both: every webhook would arrive twice)"
            }
        }
    }
}

/// What one change did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub action: Action,
    /// `None`: done; else why not.
    pub failed: Option<String>,
}

/// One shop's check or sync.
#[derive(Debug, Clone)]
pub struct ShopReport {
    pub shop: ShopDomain,
    pub kind: Kind,
    /// What Shopify listed before any change.
    pub listed: usize,
    /// The plan before any change (what `check` and `--dry-run` show).
    pub planned: Plan,
    /// Changes made (empty for `check` and `--dry-run`).
    pub applied: Vec<Applied>,
    /// The state after the changes (the plan again, with the refusals).
    pub after: Plan,
}

impl ShopReport {
    /// Drift left: something `sync` should change or cannot.
    pub fn has_drift(&self) -> bool {
        self.kind != Kind::NoneListedAppSpecific && self.after.has_drift()
    }

    /// Topics that cannot be subscribed, and why.
    pub fn blocked(&self) -> &BTreeMap<String, Blocked> {
        &self.after.blocked
    }

    /// The drift metric's values: each state of the plan after the run,
    /// plus `app_specific`, 1 for a Dev Dashboard app with none listed
    /// (whose plan is not this command's to count: every other state 0).
    pub fn state_counts(&self) -> BTreeMap<&'static str, u64> {
        let app_specific = self.kind == Kind::NoneListedAppSpecific;
        let counts = self.after.counts();
        let mut out: BTreeMap<&'static str, u64> = State::ALL
            .iter()
            .map(|s| {
                let n = if app_specific {
                    0
                } else {
                    counts.get(s).copied().unwrap_or(0)
                };
                (s.as_str(), n)
            })
            .collect();
        out.insert("app_specific", u64::from(app_specific));
        out
    }

    pub fn to_json(&self) -> Value {
        let counts = self.state_counts();
        json!({
            "shop": self.shop.as_str(),
            "kind": self.kind.as_str(),
            "kind_detail": self.kind.explain(),
            "listed": self.listed,
            "planned": self.planned.actions.iter().map(action_json).collect::<Vec<_>>(),
            "applied": self.applied.iter().map(|a| {
                let mut v = action_json(&a.action);
                v["error"] = json!(a.failed);
                v
            }).collect::<Vec<_>>(),
            "states": counts,
            "cannot_subscribe": self.after.blocked.iter().map(|(t, b)| json!({"topic": t, "reason": b.to_string()})).collect::<Vec<_>>(),
            "foreign": self.after.foreign.iter().map(listed_json).collect::<Vec<_>>(),
            "wrong_version": self.after.wrong_version.iter().map(|l| {
                let mut v = listed_json(l);
                v["fix"] = json!("the payload version of shop-specific subscriptions is the app's webhook API version (Dev Dashboard or shopify.app.toml [webhooks] api_version); the Admin API cannot change it");
                v
            }).collect::<Vec<_>>(),
            "drift": self.has_drift(),
        })
    }
}

fn action_json(a: &Action) -> Value {
    match a {
        Action::Create { topic } => json!({"action": "create", "topic": graphql_topic(*topic)}),
        Action::Update { id, topic, from } => {
            json!({"action": "update", "id": id, "topic": graphql_topic(*topic), "from": from})
        }
        Action::Delete { id, topic, uri } => {
            json!({"action": "delete", "id": id, "topic": graphql_topic(*topic), "uri": uri})
        }
    }
}

fn listed_json(l: &Listed) -> Value {
    json!({"id": l.id, "topic": l.topic, "uri": l.uri, "api_version": l.api_version})
}

/// How a run may change things.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mode {
    /// Apply the plan (`sync`); otherwise report only (`check`, `--dry-run`).
    pub apply: bool,
    /// Create shop-specific subscriptions even where none are listed on a
    /// Dev Dashboard app.
    pub shop_specific: bool,
}

/// One shop's run.
pub struct WebhookSync<'a> {
    pub admin: &'a AdminClient,
    pub shop: &'a ShopDomain,
    /// Without granted scopes: they are asked for.
    pub desired: Desired,
    pub mode: Mode,
}

impl WebhookSync<'_> {
    pub async fn run(&self) -> Result<ShopReport, SyncError> {
        let listed = self.admin.webhook_subscriptions().await?;
        let mut desired = self.desired.clone();
        desired.granted_scopes = match self.admin.granted_scopes().await {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::warn!(shop = %self.shop, error = %crate::error_chain(&e), "Cannot read the app's scopes; subscriptions are tried and refusals reported.");
                None
            }
        };
        let planned = plan(&desired, &listed);
        let managed = !listed.is_empty()
            || self.mode.shop_specific
            || self.admin.access().kind() == AccessKind::StaticToken;
        let kind = match (listed.is_empty(), managed) {
            (false, _) => Kind::ShopSpecific,
            (true, true) => Kind::NoneListedManaged,
            (true, false) => Kind::NoneListedAppSpecific,
        };
        let mut report = ShopReport {
            shop: self.shop.clone(),
            kind,
            listed: listed.len(),
            after: planned.clone(),
            planned,
            applied: Vec::new(),
        };
        if !self.mode.apply || !managed || report.planned.actions.is_empty() {
            return Ok(report);
        }
        let mut refused = BTreeMap::new();
        for action in &report.planned.actions {
            let failed = self.apply(action, &mut refused).await?;
            report.applied.push(Applied {
                action: action.clone(),
                failed,
            });
        }
        let now = self.admin.webhook_subscriptions().await?;
        report.after = plan(&desired, &now);
        for (topic, why) in refused {
            let missing = graphql_topic_of(&report.after, &topic);
            if missing {
                report.after.actions.retain(
                    |a| !matches!(a, Action::Create { topic: t } if graphql_topic(*t) == topic),
                );
                report.after.blocked.insert(topic, why);
            }
        }
        Ok(report)
    }

    /// One change; a userError is reported, not fatal.
    async fn apply(
        &self,
        action: &Action,
        refused: &mut BTreeMap<String, Blocked>,
    ) -> Result<Option<String>, SyncError> {
        let uri = &self.desired.uri;
        let result = match action {
            Action::Create { topic } => {
                match self.admin.create_webhook_subscription(*topic, uri).await {
                    Err(AdminError::UserErrors(e)) => {
                        let why = blocked_reason(&e);
                        let text = why.to_string();
                        refused.insert(graphql_topic(*topic), why);
                        return Ok(Some(text));
                    }
                    other => other.map(|_| ()),
                }
            }
            Action::Update { id, .. } => self
                .admin
                .update_webhook_subscription(id, uri)
                .await
                .map(|_| ()),
            Action::Delete { id, .. } => self.admin.delete_webhook_subscription(id).await,
        };
        match result {
            Ok(()) => Ok(None),
            Err(AdminError::UserErrors(e)) => Ok(Some(
                e.iter()
                    .map(|x| x.message.as_str())
                    .collect::<Vec<_>>()
                    .join("; "),
            )),
            Err(e) => Err(e.into()),
        }
    }
}

/// Whether the plan still wants to create `topic` (GraphQL name).
fn graphql_topic_of(p: &Plan, topic: &str) -> bool {
    p.actions
        .iter()
        .any(|a| matches!(a, Action::Create { topic: t } if graphql_topic(*t) == topic))
}

/// The drift metric of one shop: every state set, so a fixed drift
/// returns to zero.
pub fn record_metric(report: &ShopReport) {
    let shop = report.shop.as_str();
    for (state, n) in report.state_counts() {
        webhook_subscriptions(shop, state, n);
    }
}

/// What is desired everywhere, from `shopify.public_url` and the pinned
/// API version.
pub fn desired(config: &Config) -> Result<Desired, SyncError> {
    let url = config.shopify.public_url.as_deref().ok_or_else(|| {
        SyncError::Invalid(
            "shopify.public_url is not set (SO_SHOPIFY__PUBLIC_URL): webhook subscriptions point at <public_url>/webhooks/shopify".to_owned(),
        )
    })?;
    let version = &config.shopify_admin.api_version;
    if version.as_str() < "2025-10" && version != "unstable" {
        return Err(SyncError::Invalid(format!(
            "shopify_admin.api_version {version} is older than 2025-10, the first version whose webhook subscriptions have `uri`; webhooks check|sync need 2025-10 or later"
        )));
    }
    Ok(Desired::for_public_url(url, version))
}

/// Brings a just-connected shop's subscriptions in order (creating them
/// where none are listed only for a legacy custom app, see [`Kind`]) and
/// sets its drift metric. For the install path and the daily run.
pub async fn after_connect(
    config: &Config,
    shop: &ShopDomain,
    admin: &AdminClient,
) -> Result<ShopReport, SyncError> {
    let report = WebhookSync {
        admin,
        shop,
        desired: desired(config)?,
        mode: Mode {
            apply: true,
            shop_specific: false,
        },
    }
    .run()
    .await?;
    record_metric(&report);
    Ok(report)
}

/// [`after_connect`] with the shop's client from the configuration and `store`.
pub async fn after_connect_configured(
    config: &Config,
    store: &so_store::Store,
    shop: &ShopDomain,
) -> Result<ShopReport, SyncError> {
    let admin = clients::admin_client(config, store, shop)?;
    after_connect(config, shop, &admin).await
}

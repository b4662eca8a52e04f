//! What a run backfills: the entities, since when, and which customers.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// What to backfill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Entity {
    Customers,
    Orders,
    Products,
    Checkouts,
}

impl Entity {
    /// Customers first: identity and consent are in place before orders.
    pub const ALL: [Entity; 4] = [
        Entity::Customers,
        Entity::Orders,
        Entity::Products,
        Entity::Checkouts,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Entity::Customers => "customers",
            Entity::Orders => "orders",
            Entity::Products => "products",
            Entity::Checkouts => "checkouts",
        }
    }

    pub fn parse(raw: &str) -> Option<Entity> {
        Entity::ALL
            .into_iter()
            .find(|e| e.as_str() == raw.trim().to_ascii_lowercase())
    }
}

/// `--only`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Only {
    /// Every profile.
    All,
    /// Customers who accepted email marketing, and their orders and
    /// checkouts (guest orders are left out).
    Subscribers,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub entities: Vec<Entity>,
    /// Only records updated at or after this time.
    pub since: Option<DateTime<Utc>>,
    pub only: Only,
    /// Rows between two checkpoints.
    pub checkpoint_every: u64,
    /// How often a running bulk operation is polled.
    pub poll_interval: Duration,
}

impl Options {
    /// The checkpoint only resumes a run with these same options.
    pub(super) fn signature(&self, entity: Entity) -> String {
        format!(
            "{};since={};only={:?}",
            entity.as_str(),
            self.since.map(|t| t.to_rfc3339()).unwrap_or_default(),
            self.only
        )
    }

    pub(super) fn filter(&self, entity: Entity) -> Option<String> {
        let mut terms = Vec::new();
        if let Some(t) = self.since {
            terms.push(format!(
                "updated_at:>='{}'",
                t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ));
        }
        if entity == Entity::Customers && self.only == Only::Subscribers {
            terms.push("email_marketing_state:SUBSCRIBED".to_owned());
        }
        (!terms.is_empty()).then(|| terms.join(" AND "))
    }
}

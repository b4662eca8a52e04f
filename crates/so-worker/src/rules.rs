//! Each shop's settings, prepared once per change: the namespace parsed and
//! the field mappings compiled, so no event re-reads the configuration.
//! Built from the TOML file at start, then replaced whole from every new
//! snapshot of the live shop registry (pause, resume, settings changes).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};

use so_domain::ShopDomain;
use so_domain::identity::Namespace;
use so_domain::mapping::{FieldMappings, MappingContext};
use so_platform::shops_live::ShopsSnapshot;
use so_platform::{Config, ShopSettings};

/// The `shop` label of shops without their own `[shops]` entry.
pub(crate) const UNCONFIGURED: &str = "unconfigured";

/// One shop's sync rules.
#[derive(Debug)]
pub(crate) struct ShopRules {
    pub(crate) ns: Namespace,
    pub(crate) settings: ShopSettings,
    pub(crate) mappings: FieldMappings,
}

/// The rules of every configured shop, and the defaults for the rest.
#[derive(Debug)]
pub(crate) struct Rules {
    current: RwLock<Arc<HashMap<String, Arc<ShopRules>>>>,
    default: Arc<ShopRules>,
}

/// A shop's settings that the configuration check should have refused.
#[derive(Debug, thiserror::Error)]
#[error("shops.\"{shop}\": {problem}")]
pub struct RulesError {
    shop: String,
    problem: String,
}

fn compile(domain: &str, s: &ShopSettings) -> Result<ShopRules, RulesError> {
    let fail = |problem: String| RulesError {
        shop: domain.to_owned(),
        problem,
    };
    let ns = Namespace::parse(&s.namespace).map_err(|e| fail(format!("namespace: {e}")))?;
    let m = &s.mappings;
    let mappings = FieldMappings::build(&m.contact, &m.order, &m.product)
        .map_err(|problems| fail(problems.join("; ")))?;
    Ok(ShopRules {
        ns,
        settings: s.clone(),
        mappings,
    })
}

impl ShopRules {
    /// The mapping context of one event of `shop`: the shop's namespace,
    /// Ometria `store`, storefront and currency.
    pub(crate) fn mapping_context(
        &self,
        shop: &ShopDomain,
        event_time: chrono::DateTime<chrono::Utc>,
    ) -> MappingContext {
        let mut ctx = MappingContext::new(shop, self.ns.clone(), event_time);
        if let Some(store) = &self.settings.store {
            ctx.store.clone_from(store);
        }
        ctx.storefront_url.clone_from(&self.settings.storefront_url);
        ctx.currency.clone_from(&self.settings.currency);
        ctx
    }
}

impl Rules {
    pub(crate) fn build(config: &Config) -> Result<Rules, RulesError> {
        let by_shop = config
            .shops
            .iter()
            .map(|(d, s)| Ok((d.clone(), Arc::new(compile(d, s)?))))
            .collect::<Result<_, RulesError>>()?;
        Ok(Rules {
            current: RwLock::new(Arc::new(by_shop)),
            default: Arc::new(compile("(default)", &ShopSettings::default())?),
        })
    }

    /// Replaces the rules with those of `snap`. A shop whose settings do not
    /// compile (the API validates them, so a bug or a manual edit) keeps its
    /// previous rules, or the defaults.
    pub(crate) fn apply(&self, snap: &ShopsSnapshot) {
        let old = self.all();
        let by_shop = snap
            .shops
            .iter()
            .filter_map(|(d, live)| match compile(d, &live.settings) {
                Ok(r) => Some((d.clone(), Arc::new(r))),
                Err(e) => {
                    tracing::error!(error = %e, version = live.version, "Shop settings do not compile; keeping the previous ones.");
                    old.get(d).map(|r| (d.clone(), r.clone()))
                }
            })
            .collect();
        *self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(by_shop);
    }

    fn all(&self) -> Arc<HashMap<String, Arc<ShopRules>>> {
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The `shop` metric label: a configured shop's domain, else
    /// [`UNCONFIGURED`], so any number of unlisted shops stay one series.
    pub(crate) fn shop_label(&self, shop: &ShopDomain) -> &'static str {
        if self.all().contains_key(shop.as_str()) {
            intern(shop.as_str())
        } else {
            UNCONFIGURED
        }
    }

    /// Configured shops whose pushes wait: paused, or without an Ometria
    /// account.
    pub(crate) fn waiting_shops(&self, accounts: &crate::accounts::Accounts) -> Vec<ShopDomain> {
        self.all()
            .iter()
            .filter_map(|(d, r)| {
                let shop = ShopDomain::parse(d).ok()?;
                (!r.settings.enabled || accounts.for_shop(&shop).is_none()).then_some(shop)
            })
            .collect()
    }

    pub(crate) fn for_shop(&self, shop: &ShopDomain) -> Arc<ShopRules> {
        self.all()
            .get(shop.as_str())
            .unwrap_or(&self.default)
            .clone()
    }
}

/// Metric labels outlive any one snapshot. Served shops are few and their
/// domains are kept once each for the life of the process.
fn intern(domain: &str) -> &'static str {
    static LABELS: Mutex<Option<HashSet<&'static str>>> = Mutex::new(None);
    let mut labels = LABELS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let set = labels.get_or_insert_with(HashSet::new);
    if let Some(l) = set.get(domain) {
        return l;
    }
    let leaked: &'static str = Box::leak(domain.to_owned().into_boxed_str());
    set.insert(leaked);
    leaked
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::Utc;
    use serde_json::json;
    use so_domain::ShopDomain;
    use so_platform::Config;
    use so_platform::shops_live::ShopsSnapshot;
    use so_store::{ShopSource, StoredShop};

    use super::*;

    fn row(domain: &str, version: i64, settings: serde_json::Value, paused: bool) -> StoredShop {
        StoredShop {
            domain: domain.to_owned(),
            version,
            settings,
            paused,
            source: ShopSource::Store,
            updated_at: Utc::now(),
            updated_by: "test".to_owned(),
        }
    }

    #[test]
    fn a_new_snapshot_replaces_the_rules_and_a_bad_shop_keeps_its_previous_ones() {
        let config = Arc::new(Config::load(None, [("SO_AMQP__PREFIX", "t")]).unwrap());
        let rules = Rules::build(&config).unwrap();
        let shop = ShopDomain::parse("a.myshopify.com").unwrap();
        assert_eq!(rules.shop_label(&shop), UNCONFIGURED);

        let good = row(
            "a.myshopify.com",
            1,
            json!({"namespace": "uk:", "lists": {"every_contact": [4]}}),
            false,
        );
        rules.apply(&ShopsSnapshot::merge(config.clone(), 1, &[good]));
        assert_eq!(rules.for_shop(&shop).ns.as_str(), "uk:");
        assert_eq!(rules.shop_label(&shop), "a.myshopify.com");

        // Paused, and a version the worker cannot compile: the pause still
        // comes from the good shop's row; the bad settings keep version 1's.
        let paused = row("a.myshopify.com", 2, json!({"namespace": "uk:"}), true);
        rules.apply(&ShopsSnapshot::merge(config.clone(), 2, &[paused]));
        assert!(!rules.for_shop(&shop).settings.enabled);
        let bad = row("a.myshopify.com", 3, json!({"namespace": "UK"}), false);
        rules.apply(&ShopsSnapshot::merge(config, 3, &[bad]));
        assert!(
            !rules.for_shop(&shop).settings.enabled,
            "kept version 2's rules"
        );
        assert_eq!(rules.for_shop(&shop).ns.as_str(), "uk:");
    }
}

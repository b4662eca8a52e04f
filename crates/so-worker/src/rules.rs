//! Each shop's settings, prepared once at start: the namespace parsed and
//! the field mappings compiled, so no event re-reads the configuration.

use std::collections::HashMap;
use std::sync::Arc;

use so_domain::ShopDomain;
use so_domain::identity::Namespace;
use so_domain::mapping::{FieldMappings, MappingContext};
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
    by_shop: HashMap<String, Arc<ShopRules>>,
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
            by_shop,
            default: Arc::new(compile("(default)", &ShopSettings::default())?),
        })
    }

    /// The `shop` metric label: a configured shop's domain, else
    /// [`UNCONFIGURED`], so any number of unlisted shops stay one series.
    pub(crate) fn shop_label<'a>(&'a self, shop: &ShopDomain) -> &'a str {
        self.by_shop
            .get_key_value(shop.as_str())
            .map_or(UNCONFIGURED, |(k, _)| k.as_str())
    }

    /// Configured shops whose pushes wait: paused, or without an Ometria
    /// account.
    pub(crate) fn waiting_shops(&self, accounts: &crate::accounts::Accounts) -> Vec<ShopDomain> {
        self.by_shop
            .iter()
            .filter_map(|(d, r)| {
                let shop = ShopDomain::parse(d).ok()?;
                (!r.settings.enabled || accounts.for_shop(&shop).is_none()).then_some(shop)
            })
            .collect()
    }

    pub(crate) fn for_shop(&self, shop: &ShopDomain) -> &Arc<ShopRules> {
        self.by_shop.get(shop.as_str()).unwrap_or(&self.default)
    }
}

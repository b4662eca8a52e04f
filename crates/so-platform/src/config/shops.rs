//! `[shopify]` and `[shops."<domain>"]`: which shops this deployment serves,
//! their webhook secrets, and everything a merchant chooses per shop.
//! Every service reads these (the ingress the secrets, the worker the
//! Ometria account, namespace and mappings, `so-sync` the Admin API access).

use std::collections::BTreeMap;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use so_domain::ShopDomain;
use so_domain::merchant::{
    AbandonedCheckoutSettings, BehaviourAttributes, ListSettings, ProfileFilter,
};
use so_ometria::OmetriaSettings;

use super::Config;
use super::shop_admin::ShopAdmin;
use super::shop_sync::ShopSync;
use crate::secrets::{SecretList, optional_secret};

/// `[shopify]`: settings for every shop without its own entry.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ShopifySettings {
    /// Webhook signing secrets; any one verifies (secret rotation). With no
    /// `[shops]` table every shop domain is verified against these.
    pub webhook_secrets: SecretList,
    /// The public HTTPS address of the service (`https://sync.example.com`,
    /// no path; `SO_SHOPIFY__PUBLIC_URL`): webhook subscriptions point at
    /// `<public_url>/webhooks/shopify`, the OAuth callback is
    /// `<public_url>/shopify/callback`.
    pub public_url: Option<String>,
    /// A shop with webhook subscriptions that sends nothing for this long
    /// raises `SoWebhookSilence` (0: never); `shops."<domain>".silence_after_secs`
    /// overrides it.
    pub silence_after_secs: u64,
    /// How often every process asks the store whether a shop changed
    /// (pause, resume, settings); a change takes effect within this.
    #[serde(
        rename = "shops_refresh_ms",
        with = "so_domain::serde_duration::millis"
    )]
    pub shops_refresh: std::time::Duration,
    /// The app shops install from a link (OAuth); unset: no install routes.
    pub app: super::shopify_app::ShopifyApp,
}

impl Default for ShopifySettings {
    fn default() -> Self {
        ShopifySettings {
            webhook_secrets: SecretList::default(),
            public_url: None,
            silence_after_secs: super::webhooks::DEFAULT_SILENCE_AFTER_SECS,
            shops_refresh: std::time::Duration::from_millis(1000),
            app: super::shopify_app::ShopifyApp::default(),
        }
    }
}

impl ShopifySettings {
    pub(super) fn problems(&self) -> Vec<String> {
        let ms = self.shops_refresh.as_millis();
        if (100..=60_000).contains(&ms) {
            Vec::new()
        } else {
            vec!["shopify.shops_refresh_ms must be 100..=60000".to_owned()]
        }
    }
}

/// `[shops."<name>.myshopify.com"]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ShopSettings {
    /// This shop's webhook secrets; empty means `shopify.webhook_secrets`.
    pub webhook_secrets: SecretList,
    /// Prefix of this shop's Ometria ids in a multi-store account (`uk:`).
    pub namespace: String,
    /// A disabled shop's webhooks are still received and queued, but not
    /// pushed to Ometria until it is enabled again.
    pub enabled: bool,
    /// This shop's own Ometria account (key, endpoint, budget); unset keys
    /// come from `[ometria]`.
    pub ometria: ShopOmetria,
    /// `all` or `subscribers` (only email subscribers reach Ometria).
    pub profiles: ProfileFilter,
    /// Extra Shopify fields into Ometria `properties`, per record type.
    pub mappings: ShopMappings,
    /// Behavioural attributes kept on the contact, each on or off.
    pub behaviour: BehaviourAttributes,
    /// Ometria lists synced contacts join and leave.
    pub lists: ListSettings,
    pub abandoned_checkouts: AbandonedCheckoutSettings,
    /// Access to the shop's Admin API (backfill, consent write-back,
    /// reconciliation): a static token or a client id and secret.
    pub admin: ShopAdmin,
    /// The public storefront (`https://shop.example.com`): products get
    /// `url` (`<storefront_url>/products/<handle>`). Unset: no product
    /// URLs (the myshopify domain is not the shop's public address).
    pub storefront_url: Option<String>,
    /// Ometria `store` of this shop's orders, contacts (`store_ids`) and
    /// product listings, for accounts that hold several stores; unset: the
    /// shop's myshopify domain.
    pub store: Option<String>,
    /// The shop currency (ISO 4217, e.g. `GBP`), sent as each product's
    /// `currency`: product payloads carry prices in it but do not name it.
    pub currency: Option<String>,
    /// This shop's part in the jobs beside the webhooks (consent
    /// write-back switch and start).
    pub sync: ShopSync,
    /// The shop's IANA time zone (`Europe/London`): the daily profile
    /// send's time of day and every time shown for the shop are read in
    /// it. Unset: UTC.
    pub timezone: Option<String>,
    /// The daily automatic profile send and the lists a send may choose.
    pub profile_sends: super::ProfileSends,
    /// Instead of `shopify.silence_after_secs` for this shop.
    pub silence_after_secs: Option<u64>,
}

impl Default for ShopSettings {
    fn default() -> Self {
        ShopSettings {
            webhook_secrets: SecretList::default(),
            namespace: String::new(),
            enabled: true,
            ometria: ShopOmetria::default(),
            profiles: ProfileFilter::All,
            mappings: ShopMappings::default(),
            behaviour: BehaviourAttributes::default(),
            lists: ListSettings::default(),
            abandoned_checkouts: AbandonedCheckoutSettings::default(),
            admin: ShopAdmin::default(),
            storefront_url: None,
            store: None,
            currency: None,
            sync: ShopSync::default(),
            timezone: None,
            profile_sends: super::ProfileSends::default(),
            silence_after_secs: None,
        }
    }
}

/// `[shops."<domain>".ometria]`: overrides of `[ometria]` for one shop
/// (unset: `null` in `check-config`). Shops with the same endpoint and key
/// share one account: one request budget, one pause after a 429.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ShopOmetria {
    /// Instead of `ometria.api_url` (an account in another region).
    pub api_url: Option<String>,
    /// This shop's own account key, instead of `ometria.api_key`.
    #[serde(
        deserialize_with = "optional_secret",
        serialize_with = "so_domain::serde_secret::masked_opt"
    )]
    pub api_key: Option<SecretString>,
    /// The account's budget; shops sharing an account must agree on it.
    pub requests_per_second: Option<f64>,
    /// Records per push request for this shop (1..=100).
    pub batch_max_records: Option<usize>,
}

impl ShopOmetria {
    pub fn is_empty(&self) -> bool {
        self.api_url.is_none()
            && self.api_key.is_none()
            && self.requests_per_second.is_none()
            && self.batch_max_records.is_none()
    }
}

/// `[shops."<domain>".mappings.<contact|order|product>]`: property name =
/// Shopify source path (docs/mapping.md, "Merchant field mappings").
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ShopMappings {
    pub contact: BTreeMap<String, String>,
    pub order: BTreeMap<String, String>,
    pub product: BTreeMap<String, String>,
}

impl ShopSettings {
    /// This shop's invalid values, each naming its key relative to the shop
    /// (`namespace`, `lists.subscribers`...). `ometria` is the account it
    /// pushes with, `[ometria]` with its overrides applied.
    pub(super) fn problems(&self, ometria: &OmetriaSettings) -> Vec<String> {
        let mut out = Vec::new();
        // The worker's own parse: a namespace that passed here but not there
        // stopped the worker at start.
        if let Err(e) = so_domain::identity::Namespace::parse(&self.namespace) {
            out.push(e.to_string());
        }
        if let (false, Err(e)) = (self.ometria.is_empty(), ometria.validate()) {
            out.push(e.to_string());
        }
        out.extend(self.abandoned_checkouts.problems());
        out.extend(super::shop_store::problems(self));
        out.extend(self.sync.problems());
        out.extend(super::shop_profiles::problems(self));
        if let Err(problems) = so_domain::mapping::FieldMappings::build(
            &self.mappings.contact,
            &self.mappings.order,
            &self.mappings.product,
        ) {
            out.extend(problems);
        }
        out.extend(self.admin.problems());
        for (kind, lists) in [
            ("every_contact", &self.lists.every_contact),
            ("subscribers", &self.lists.subscribers),
        ] {
            if lists.len() > 20 || lists.contains(&0) {
                out.push(format!(
                    "lists.{kind} must hold at most 20 Ometria list ids, none of them 0"
                ));
            }
        }
        out
    }
}

impl Config {
    /// The settings of `shop`: its own entry, else the defaults.
    pub fn shop(&self, shop: &ShopDomain) -> &ShopSettings {
        static DEFAULT: std::sync::LazyLock<ShopSettings> =
            std::sync::LazyLock::new(ShopSettings::default);
        self.shops.get(shop.as_str()).unwrap_or(&DEFAULT)
    }

    /// The Ometria settings `shop` pushes with: `[ometria]` with the shop's
    /// overrides applied.
    pub fn ometria_for(&self, shop: &ShopDomain) -> OmetriaSettings {
        self.ometria_for_settings(self.shop(shop))
    }

    pub(super) fn ometria_for_settings(&self, shop: &ShopSettings) -> OmetriaSettings {
        let mut settings = self.ometria.clone();
        let own = &shop.ometria;
        if let Some(url) = &own.api_url {
            settings.api_url.clone_from(url);
        }
        if let Some(key) = &own.api_key {
            settings.api_key = Some(key.clone());
        }
        if let Some(rps) = own.requests_per_second {
            settings.requests_per_second = rps;
        }
        if let Some(n) = own.batch_max_records {
            settings.batch_max_records = n;
        }
        settings
    }

    /// The invalid values of settings `shop` would have, as start-up finds
    /// them, each naming its key relative to the shop (`lists.subscribers`).
    pub fn shop_problems(&self, shop: &ShopSettings) -> Vec<String> {
        shop.problems(&self.ometria_for_settings(shop))
    }

    /// The secrets that verify webhooks of `shop`, or `None` for a shop this
    /// deployment does not serve.
    pub fn secrets_for(&self, shop: &ShopDomain) -> Option<&[SecretString]> {
        let global = self.shopify.webhook_secrets.as_slice();
        let secrets = if self.shops.is_empty() {
            global
        } else {
            let own = self.shops.get(shop.as_str())?;
            if own.webhook_secrets.is_empty() {
                global
            } else {
                own.webhook_secrets.as_slice()
            }
        };
        (!secrets.is_empty()).then_some(secrets)
    }
}

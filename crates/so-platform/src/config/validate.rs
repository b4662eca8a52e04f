//! Checks after loading: every invalid value and cross-field rule, each
//! message naming its key, all reported at once; and the warnings that do
//! not stop the service. Rules about one section live with the section;
//! this file orders them and holds the rules that span sections.

use so_domain::ShopDomain;

use super::Config;

impl Config {
    /// Every invalid value, each message naming its key.
    pub fn problems(&self) -> Vec<String> {
        let mut out = self.amqp.problems();
        out.extend(self.ingress.problems());
        if self.ingress.listen == self.ops.listen && self.ingress.listen.port() != 0 {
            out.push("ops.listen must differ from ingress.listen".to_owned());
        }
        out.extend(self.ops.problems());
        out.extend(self.database.problems());
        let public_url = self.shopify.public_url.as_deref();
        out.extend(self.shopify.app.problems(public_url));
        if self.shopify.app.is_configured() && self.database.secrets_key.is_none() {
            out.push("database.secrets_key must be set for OAuth installs ([shopify.app]): their tokens are stored sealed with it".to_owned());
        }
        if !(self.ometria.api_url.starts_with("http://")
            || self.ometria.api_url.starts_with("https://"))
        {
            out.push("ometria.api_url must be an http(s) URL".to_owned());
        }
        if let Err(e) = self.ometria.validate() {
            out.push(e.to_string());
        }
        out.extend(self.worker.problems());
        out.extend(self.rejections.problems());
        out.extend(self.sync.problems());
        if let Err(e) = self.shopify_admin.validate() {
            out.push(format!("shopify_admin: {e}"));
        }
        out.extend(self.shopify.problems());
        out.extend(self.account_conflicts());
        out.extend(self.webhook_problems());
        for (domain, shop) in &self.shops {
            if ShopDomain::parse(domain).is_err() {
                out.push(format!(
                    "shops.\"{domain}\" is not a <name>.myshopify.com domain"
                ));
            }
            let ometria = self.ometria_for_settings(shop);
            out.extend(
                shop.problems(&ometria)
                    .into_iter()
                    .map(|problem| format!("shops.\"{domain}\".{problem}")),
            );
        }
        out
    }

    /// Shops that share one Ometria account (same endpoint and key) share
    /// one request budget, so they must agree on it.
    fn account_conflicts(&self) -> Vec<String> {
        let mut seen: Vec<((String, String), &str, f64)> = Vec::new();
        let mut out = Vec::new();
        let global = ("[ometria]", &self.ometria);
        let per_shop = self
            .shops
            .iter()
            .filter(|(_, s)| !s.ometria.is_empty())
            .map(|(d, s)| (d.as_str(), self.ometria_for_settings(s)));
        for (name, o) in std::iter::once((global.0, global.1.clone())).chain(per_shop) {
            let key = o.account_key();
            match seen.iter().find(|(k, _, _)| *k == key) {
                Some((_, other, rps)) if (*rps - o.requests_per_second).abs() > f64::EPSILON => {
                    out.push(format!(
                        "shops.\"{name}\".ometria.requests_per_second differs from {other}, which uses the same Ometria account (api_url and api_key); one account has one budget"
                    ));
                }
                Some(_) => {}
                None => seen.push((key, name, o.requests_per_second)),
            }
        }
        out
    }

    /// Warnings that do not stop the service.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = self.database.warnings();
        out.extend(self.admin_warnings());
        out.extend(self.profile_send_warnings());
        if self.shops.is_empty() && self.shopify.webhook_secrets.is_empty() {
            out.push("shopify.webhook_secrets is empty and no [shops] are configured: every webhook will be rejected with 401 unknown_shop".to_owned());
        }
        for (domain, shop) in &self.shops {
            if shop.webhook_secrets.is_empty() && self.shopify.webhook_secrets.is_empty() {
                out.push(format!("shops.\"{domain}\".webhook_secrets is empty and so is shopify.webhook_secrets: its webhooks will be rejected"));
            }
        }
        let every_shop_has_a_key =
            !self.shops.is_empty() && self.shops.values().all(|s| s.ometria.api_key.is_some());
        if self.ometria.api_key.is_none() && !every_shop_has_a_key {
            out.push("ometria.api_key is not set: nothing can be pushed to Ometria".to_owned());
        }
        for (domain, shop) in &self.shops {
            let c = &shop.abandoned_checkouts;
            if c.enabled {
                out.push(format!(
                    "shops.\"{domain}\".abandoned_checkouts is on: Ometria must have set up the custom event type \"{}\" before its events are accepted",
                    c.event_type
                ));
            }
        }
        out
    }
}

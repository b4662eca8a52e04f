//! `shopify.public_url` and the webhook silence thresholds: where Shopify
//! sends webhooks, and how long a shop may stay quiet.

use std::time::Duration;

use so_domain::ShopDomain;

use super::Config;

/// A day: even a small shop sees a product or customer change in a day.
pub(super) const DEFAULT_SILENCE_AFTER_SECS: u64 = 86_400;

/// Why a public URL is refused, or `None` if it is an https origin.
pub(super) fn public_url_problem(url: &str) -> Option<&'static str> {
    let Some(rest) = url.strip_prefix("https://") else {
        return Some("must start with https:// (Shopify only delivers to HTTPS)");
    };
    let host = rest.strip_suffix('/').unwrap_or(rest);
    if host.is_empty() {
        return Some("has no host");
    }
    if host.contains(['/', '?', '#']) {
        return Some(
            "must be the origin only, without a path, query or fragment (the callback path /webhooks/shopify is added)",
        );
    }
    if host.contains(char::is_whitespace) || host.contains('@') {
        return Some("is not a valid host");
    }
    None
}

impl Config {
    pub(super) fn webhook_problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(url) = &self.shopify.public_url
            && let Some(why) = public_url_problem(url)
        {
            out.push(format!("shopify.public_url {why}: got {url:?}"));
        }
        out
    }

    /// `<shopify.public_url>/webhooks/shopify`, if the public URL is set.
    pub fn webhook_callback_uri(&self) -> Option<String> {
        self.shopify
            .public_url
            .as_deref()
            .map(so_domain::subscriptions::callback_uri)
    }

    /// How long `shop` may send nothing before `SoWebhookSilence` (zero:
    /// never).
    pub fn silence_after(&self, shop: &ShopDomain) -> Duration {
        let secs = self
            .shops
            .get(shop.as_str())
            .and_then(|s| s.silence_after_secs)
            .unwrap_or(self.shopify.silence_after_secs);
        Duration::from_secs(secs)
    }
}

#[cfg(test)]
mod tests {
    use super::public_url_problem;
    use crate::Config;
    use so_domain::ShopDomain;

    #[test]
    fn public_urls_are_https_origins() {
        assert_eq!(public_url_problem("https://sync.example.com"), None);
        assert_eq!(public_url_problem("https://sync.example.com/"), None);
        assert!(public_url_problem("http://sync.example.com").is_some());
        assert!(public_url_problem("https://sync.example.com/webhooks").is_some());
        assert!(public_url_problem("https://sync.example.com?a=1").is_some());
        assert!(public_url_problem("https://").is_some());
    }

    #[test]
    fn the_public_url_and_silence_load_and_a_bad_url_names_the_key() {
        let c = Config::load(
            None,
            [
                ("SO_SHOPIFY__PUBLIC_URL", "https://sync.example.com"),
                ("SO_SHOPIFY__SILENCE_AFTER_SECS", "3600"),
                ("SO_SYNC__WEBHOOKS_INTERVAL_SECS", "0"),
            ],
        )
        .unwrap();
        assert_eq!(
            c.webhook_callback_uri().as_deref(),
            Some("https://sync.example.com/webhooks/shopify")
        );
        let shop = ShopDomain::parse("a.myshopify.com").unwrap();
        assert_eq!(c.silence_after(&shop).as_secs(), 3600);
        assert!(c.sync.webhooks_interval.is_zero());
        let err = Config::load(
            None,
            [("SO_SHOPIFY__PUBLIC_URL", "http://sync.example.com/x")],
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("shopify.public_url"), "{err}");
        let err = Config::load(None, [("SO_SYNC__WEBHOOKS_INTERVAL_SECS", "5")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("sync.webhooks_interval_secs"), "{err}");
    }
}

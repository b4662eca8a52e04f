//! The control API of a shop's webhook subscriptions: seeding, switches and
//! what tests count from (the list and the mutation log).

use chrono::Utc;

use crate::inspect::FakeShop;
use crate::subscriptions::{ProtectedData, Subscription, SubscriptionMutation};

impl FakeShop {
    /// Adds a shop-specific subscription as if created earlier, in the
    /// given payload version; returns its global id.
    pub fn seed_subscription(&self, topic: &str, uri: &str, api_version: &str) -> String {
        let id = self.with(|s| s.subscriptions.insert(topic, uri, api_version, Utc::now()));
        format!("gid://shopify/WebhookSubscription/{id}")
    }

    /// The shop-specific subscriptions Shopify holds, by id.
    pub fn subscriptions(&self) -> Vec<Subscription> {
        self.with(|s| s.subscriptions.list.values().cloned().collect())
    }

    /// Every subscription mutation called, applied or refused, in order.
    pub fn subscription_mutations(&self) -> Vec<SubscriptionMutation> {
        self.with(|s| s.subscriptions.log.clone())
    }

    /// The scopes the app holds from now on.
    pub fn set_granted_scopes(&self, scopes: &[&str]) {
        self.with(|s| s.config.granted_scopes = scopes.iter().map(|x| (*x).to_owned()).collect());
    }

    /// The app's protected customer data approval from now on.
    pub fn set_protected_data(&self, level: ProtectedData) {
        self.with(|s| s.config.protected_data = level);
    }

    /// The payload version of subscriptions created from now on: `None`,
    /// the creating request's version; `Some`, the app's setting [U].
    pub fn set_webhook_api_version(&self, version: Option<&str>) {
        self.with(|s| s.config.webhook_api_version = version.map(str::to_owned));
    }

    /// Topics the app subscribes app-specifically (never listed).
    pub fn set_app_specific_topics(&self, topics: &[&str]) {
        self.with(|s| {
            s.config.app_specific_topics = topics.iter().map(|x| (*x).to_owned()).collect();
        });
    }

    /// Topics this shop delivers, by either kind of subscription, with
    /// their addresses: what Shopify would send webhooks for.
    pub fn delivering(&self, app_uri: &str) -> Vec<(String, String)> {
        self.with(|s| {
            let app = s
                .config
                .app_specific_topics
                .iter()
                .map(|t| (t.clone(), app_uri.to_owned()));
            let shop = s
                .subscriptions
                .list
                .values()
                .map(|x| (x.topic.clone(), x.uri.clone()));
            app.chain(shop).collect()
        })
    }
}

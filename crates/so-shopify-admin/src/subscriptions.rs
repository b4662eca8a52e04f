//! Shop-specific webhook subscriptions (`shared/reference/shopify-apps.md`
//! §6): the list (250 a page), the app's granted scopes, and
//! `webhookSubscriptionCreate/Update/Delete` with `uri` and `format: JSON`
//! (API 2025-10 and later, which the client pins). App-specific
//! subscriptions from `shopify.app.toml` are never listed by Shopify.

use serde::Deserialize;
use serde_json::{Value, json};
use so_domain::Topic;
use so_domain::subscriptions::{Blocked, Listed, graphql_topic};

use crate::client::AdminClient;
use crate::error::{AdminError, UserError};
use crate::queries::{MAX_PAGE_SIZE, Page, connection_cost, fold_pages};

const LIST: &str = "query WebhookSubscriptions($first: Int!, $after: String) { \
webhookSubscriptions(first: $first, after: $after) { \
nodes { id topic uri apiVersion { handle } } pageInfo { hasNextPage endCursor } } }";
/// The node and its `apiVersion` object.
const NODE_COST: u32 = 2;
const SCOPES: &str = "query AccessScopes { currentAppInstallation { accessScopes { handle } } }";
const SUB_FIELDS: &str =
    "webhookSubscription { id topic uri apiVersion { handle } } userErrors { field message }";
const MUTATION_COST: u64 = 10;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Node {
    id: String,
    topic: String,
    uri: String,
    api_version: Option<Handle>,
}

#[derive(Deserialize)]
struct Handle {
    handle: String,
}

impl From<Node> for Listed {
    fn from(n: Node) -> Listed {
        Listed {
            id: n.id,
            topic: n.topic,
            uri: n.uri,
            api_version: n.api_version.map(|v| v.handle),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListData {
    webhook_subscriptions: crate::nodes::Connection<Node>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ScopesData {
    current_app_installation: Installation,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Installation {
    access_scopes: Vec<Handle>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SubPayload {
    webhook_subscription: Option<Node>,
    #[serde(default)]
    user_errors: Vec<UserError>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeletePayload {
    deleted_webhook_subscription_id: Option<String>,
    #[serde(default)]
    user_errors: Vec<UserError>,
}

/// Why Shopify refused a subscription, from its userErrors: the documented
/// protected-customer-data refusal, a missing scope (named in the message),
/// or anything else verbatim.
pub fn blocked_reason(errors: &[UserError]) -> Blocked {
    let text: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
    let joined = text.join("; ");
    if joined.contains("protected customer data") {
        return Blocked::ProtectedDataNotApproved;
    }
    let scope = joined
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .find(|w| w.starts_with("read_") || w.starts_with("write_"));
    match scope {
        Some(s) if joined.contains("scope") || joined.contains("access") => {
            Blocked::MissingScope(s.replacen("write_", "read_", 1))
        }
        _ => Blocked::Refused(joined),
    }
}

fn subscription_input(uri: &str) -> Value {
    json!({"uri": uri, "format": "JSON"})
}

impl AdminClient {
    /// Every shop-specific subscription of this app, 250 a page.
    pub async fn webhook_subscriptions(&self) -> Result<Vec<Listed>, AdminError> {
        fold_pages(
            Vec::new(),
            |after| async move {
                let r = self
                    .query_with_cost::<ListData>(
                        LIST,
                        json!({"first": MAX_PAGE_SIZE, "after": after}),
                        connection_cost(MAX_PAGE_SIZE, NODE_COST),
                    )
                    .await?;
                let conn = r.data.webhook_subscriptions;
                Ok::<_, AdminError>(Page {
                    nodes: conn.nodes,
                    page_info: conn.page_info.unwrap_or_default(),
                    cost: r.cost,
                })
            },
            |acc: &mut Vec<Listed>, nodes| acc.extend(nodes.into_iter().map(Listed::from)),
        )
        .await
    }

    /// The scopes the app holds on this shop.
    pub async fn granted_scopes(&self) -> Result<Vec<String>, AdminError> {
        let r = self
            .query_with_cost::<ScopesData>(SCOPES, json!({}), 2)
            .await?;
        Ok(r.data
            .current_app_installation
            .access_scopes
            .into_iter()
            .map(|h| h.handle)
            .collect())
    }

    /// `webhookSubscriptionCreate`; a refusal is [`AdminError::UserErrors`]
    /// (classify it with [`blocked_reason`]).
    pub async fn create_webhook_subscription(
        &self,
        topic: Topic,
        uri: &str,
    ) -> Result<Listed, AdminError> {
        let query = format!(
            "mutation Create($topic: WebhookSubscriptionTopic!, $sub: WebhookSubscriptionInput!) {{ \
webhookSubscriptionCreate(topic: $topic, webhookSubscription: $sub) {{ {SUB_FIELDS} }} }}"
        );
        let variables = json!({"topic": graphql_topic(topic), "sub": subscription_input(uri)});
        self.subscription_mutation(&query, variables, "webhookSubscriptionCreate")
            .await
    }

    /// `webhookSubscriptionUpdate`: points `id` at `uri`, atomically.
    pub async fn update_webhook_subscription(
        &self,
        id: &str,
        uri: &str,
    ) -> Result<Listed, AdminError> {
        let query = format!(
            "mutation Update($id: ID!, $sub: WebhookSubscriptionInput!) {{ \
webhookSubscriptionUpdate(id: $id, webhookSubscription: $sub) {{ {SUB_FIELDS} }} }}"
        );
        let variables = json!({"id": id, "sub": subscription_input(uri)});
        self.subscription_mutation(&query, variables, "webhookSubscriptionUpdate")
            .await
    }

    /// `webhookSubscriptionDelete`.
    pub async fn delete_webhook_subscription(&self, id: &str) -> Result<(), AdminError> {
        let query = "mutation Delete($id: ID!) { webhookSubscriptionDelete(id: $id) { \
deletedWebhookSubscriptionId userErrors { field message } } }";
        let r = self
            .query_with_cost::<serde_json::Map<String, Value>>(
                query,
                json!({"id": id}),
                MUTATION_COST,
            )
            .await?;
        let payload: DeletePayload = field(r.data, "webhookSubscriptionDelete")?;
        if !payload.user_errors.is_empty() {
            return Err(AdminError::UserErrors(payload.user_errors));
        }
        payload
            .deleted_webhook_subscription_id
            .map(|_| ())
            .ok_or_else(|| AdminError::decode("subscription delete", "no deleted id"))
    }

    async fn subscription_mutation(
        &self,
        query: &str,
        variables: Value,
        name: &str,
    ) -> Result<Listed, AdminError> {
        let r = self
            .query_with_cost::<serde_json::Map<String, Value>>(query, variables, MUTATION_COST)
            .await?;
        let payload: SubPayload = field(r.data, name)?;
        if !payload.user_errors.is_empty() {
            return Err(AdminError::UserErrors(payload.user_errors));
        }
        payload
            .webhook_subscription
            .map(Listed::from)
            .ok_or_else(|| AdminError::decode(name, "no subscription in payload"))
    }
}

fn field<T: serde::de::DeserializeOwned>(
    mut data: serde_json::Map<String, Value>,
    name: &str,
) -> Result<T, AdminError> {
    let v = data
        .remove(name)
        .ok_or_else(|| AdminError::decode(name, "no payload"))?;
    serde_json::from_value(v).map_err(|e| AdminError::decode(name, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(message: &str) -> UserError {
        UserError {
            field: None,
            message: message.to_owned(),
            code: None,
        }
    }

    #[test]
    fn user_errors_are_classified() {
        assert_eq!(
            blocked_reason(&[err(
                "This app is not approved to subscribe to webhook topics containing protected customer data"
            )]),
            Blocked::ProtectedDataNotApproved
        );
        assert_eq!(
            blocked_reason(&[err(
                "The app does not have the required access scope (read_customer_merge) to subscribe to CUSTOMERS_MERGE"
            )]),
            Blocked::MissingScope("read_customer_merge".to_owned())
        );
        assert_eq!(
            blocked_reason(&[err("Address for this topic has already been taken")]),
            Blocked::Refused("Address for this topic has already been taken".to_owned())
        );
    }
}

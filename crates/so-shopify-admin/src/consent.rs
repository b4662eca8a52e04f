//! Customer lookups (for consent checks on the write-back path and for
//! enriching webhooks whose payloads no longer carry consent) and the
//! `customerEmailMarketingConsentUpdate` write-back.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::client::AdminClient;
use crate::error::{AdminError, UserError};
use crate::gid::Gid;
use crate::nodes::{
    ConsentTarget, Customer, EmailMarketingConsent, EmailMarketingState, MarketingOptInLevel,
};
use crate::queries::{CUSTOMER_FIELDS, CUSTOMER_NODE_COST, MAX_PAGE_SIZE};

/// Most ids per `nodes(ids:)` call (Shopify caps input arrays at 250).
pub const MAX_IDS_PER_LOOKUP: usize = MAX_PAGE_SIZE as usize;

const UPDATE_CONSENT: &str = "mutation ConsentUpdate($input: CustomerEmailMarketingConsentUpdateInput!) { \
customerEmailMarketingConsentUpdate(input: $input) { \
customer { id emailMarketingConsent { marketingState marketingOptInLevel consentUpdatedAt } } \
userErrors { field message code } } }";
/// Every mutation costs 10 points.
const MUTATION_COST: u64 = 10;

/// Input of `customerEmailMarketingConsentUpdate`, unrestricted: Shopify
/// validates it and answers userErrors (use [`ConsentTarget`] through
/// [`AdminClient::update_email_consent`] to rule those out at compile time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailConsentInput {
    pub customer_id: u64,
    pub marketing_state: EmailMarketingState,
    pub opt_in_level: Option<MarketingOptInLevel>,
    /// When the customer gave or withdrew consent; Shopify uses now if
    /// absent.
    pub consent_updated_at: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
struct CustomerData {
    customer: Option<Customer>,
}

#[derive(Deserialize)]
struct NodesData {
    nodes: Vec<Option<Value>>,
}

#[derive(Deserialize)]
struct UpdateData {
    #[serde(rename = "customerEmailMarketingConsentUpdate")]
    update: Option<UpdatePayload>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdatePayload {
    customer: Option<UpdatedCustomer>,
    #[serde(default)]
    user_errors: Vec<UserError>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdatedCustomer {
    email_marketing_consent: Option<EmailMarketingConsent>,
}

impl AdminClient {
    /// `customer(id:)`: the customer with its consent state, `None` if Shopify
    /// has no such customer (deleted, or another shop's id).
    pub async fn customer(&self, id: u64) -> Result<Option<Customer>, AdminError> {
        let query =
            format!("query Customer($id: ID!) {{ customer(id: $id) {{ {CUSTOMER_FIELDS} }} }}");
        let variables = json!({"id": Gid::customer(id).to_string()});
        let r = self
            .query_with_cost::<CustomerData>(&query, variables, u64::from(CUSTOMER_NODE_COST))
            .await?;
        Ok(r.data.customer)
    }

    /// `nodes(ids:)` in batches of 250: one entry per id, in order, `None`
    /// for ids Shopify does not know.
    pub async fn customers_by_ids(&self, ids: &[u64]) -> Result<Vec<Option<Customer>>, AdminError> {
        let query = format!(
            "query Customers($ids: [ID!]!) {{ nodes(ids: $ids) {{ ... on Customer {{ {CUSTOMER_FIELDS} }} }} }}"
        );
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(MAX_IDS_PER_LOOKUP) {
            let gids: Vec<String> = chunk
                .iter()
                .map(|id| Gid::customer(*id).to_string())
                .collect();
            let cost = chunk.len() as u64 * u64::from(CUSTOMER_NODE_COST);
            let variables = json!({"ids": gids});
            let r = self
                .query_with_cost::<NodesData>(&query, variables, cost)
                .await?;
            if r.data.nodes.len() != chunk.len() {
                return Err(AdminError::decode(
                    "nodes lookup",
                    format!(
                        "{} ids sent, {} nodes returned",
                        chunk.len(),
                        r.data.nodes.len()
                    ),
                ));
            }
            for node in r.data.nodes {
                out.push(match node {
                    // A node of another type matches no fragment: `{}`.
                    Some(Value::Object(map)) if map.is_empty() => None,
                    Some(v) => Some(
                        serde_json::from_value(v)
                            .map_err(|e| AdminError::decode("customer node", e))?,
                    ),
                    None => None,
                });
            }
        }
        Ok(out)
    }

    /// Sets a customer's email marketing consent, e.g. to
    /// [`ConsentTarget::Unsubscribed`] for an opt-out that came from Ometria.
    /// Returns the state Shopify now holds; userErrors (unknown customer, no
    /// email) come back as [`AdminError::UserErrors`].
    ///
    /// Setting the state the customer already has succeeds and still makes
    /// Shopify send a consent webhook: callers that must not echo should
    /// check the state first.
    pub async fn update_email_consent(
        &self,
        customer_id: u64,
        state: ConsentTarget,
        consent_updated_at: Option<DateTime<Utc>>,
    ) -> Result<EmailMarketingConsent, AdminError> {
        let opt_in_level =
            (state == ConsentTarget::Subscribed).then_some(MarketingOptInLevel::SingleOptIn);
        self.update_email_consent_with(&EmailConsentInput {
            customer_id,
            marketing_state: state.into(),
            opt_in_level,
            consent_updated_at,
        })
        .await
    }

    /// [`AdminClient::update_email_consent`] with every input field open.
    pub async fn update_email_consent_with(
        &self,
        input: &EmailConsentInput,
    ) -> Result<EmailMarketingConsent, AdminError> {
        let mut consent = Map::new();
        consent.insert(
            "marketingState".to_owned(),
            json!(input.marketing_state.as_str()),
        );
        if let Some(level) = input.opt_in_level {
            consent.insert("marketingOptInLevel".to_owned(), json!(level.as_str()));
        }
        if let Some(at) = input.consent_updated_at {
            consent.insert(
                "consentUpdatedAt".to_owned(),
                json!(at.to_rfc3339_opts(SecondsFormat::Secs, true)),
            );
        }
        let variables = json!({"input": {
            "customerId": Gid::customer(input.customer_id).to_string(),
            "emailMarketingConsent": consent,
        }});
        let r = self
            .query_with_cost::<UpdateData>(UPDATE_CONSENT, variables, MUTATION_COST)
            .await?;
        let payload = r
            .data
            .update
            .ok_or_else(|| AdminError::decode("consent update", "no payload"))?;
        if !payload.user_errors.is_empty() {
            return Err(AdminError::UserErrors(payload.user_errors));
        }
        payload
            .customer
            .and_then(|c| c.email_marketing_consent)
            .ok_or_else(|| AdminError::decode("consent update", "no customer consent in payload"))
    }
}

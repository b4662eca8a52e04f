//! Shopify webhook topics this service understands.

use std::fmt;

/// A topic the service knows how to route and (later) map to Ometria.
///
/// The list is exhaustive on purpose: adding a topic means deciding how it is
/// keyed for ordering (see [`crate::routing`]), so a wildcard would hide that.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    OrdersCreate,
    OrdersUpdated,
    OrdersPaid,
    OrdersFulfilled,
    OrdersPartiallyFulfilled,
    OrdersCancelled,
    OrdersEdited,
    OrdersDelete,
    RefundsCreate,
    CustomersCreate,
    CustomersUpdate,
    CustomersEnable,
    CustomersDisable,
    CustomersDelete,
    CustomersMerge,
    CustomersEmailMarketingConsentUpdate,
    CustomersMarketingConsentUpdate,
    CustomersPurchasingSummary,
    CustomerTagsAdded,
    CustomerTagsRemoved,
    ProductsCreate,
    ProductsUpdate,
    ProductsDelete,
    CheckoutsCreate,
    CheckoutsUpdate,
    CheckoutsDelete,
    FulfillmentsCreate,
    FulfillmentsUpdate,
    CustomersRedact,
    CustomersDataRequest,
    ShopRedact,
    AppUninstalled,
}

impl Topic {
    pub const ALL: [Topic; 32] = [
        Topic::OrdersCreate,
        Topic::OrdersUpdated,
        Topic::OrdersPaid,
        Topic::OrdersFulfilled,
        Topic::OrdersPartiallyFulfilled,
        Topic::OrdersCancelled,
        Topic::OrdersEdited,
        Topic::OrdersDelete,
        Topic::RefundsCreate,
        Topic::CustomersCreate,
        Topic::CustomersUpdate,
        Topic::CustomersEnable,
        Topic::CustomersDisable,
        Topic::CustomersDelete,
        Topic::CustomersMerge,
        Topic::CustomersEmailMarketingConsentUpdate,
        Topic::CustomersMarketingConsentUpdate,
        Topic::CustomersPurchasingSummary,
        Topic::CustomerTagsAdded,
        Topic::CustomerTagsRemoved,
        Topic::ProductsCreate,
        Topic::ProductsUpdate,
        Topic::ProductsDelete,
        Topic::CheckoutsCreate,
        Topic::CheckoutsUpdate,
        Topic::CheckoutsDelete,
        Topic::FulfillmentsCreate,
        Topic::FulfillmentsUpdate,
        Topic::CustomersRedact,
        Topic::CustomersDataRequest,
        Topic::ShopRedact,
        Topic::AppUninstalled,
    ];

    /// The topic as Shopify writes it in `X-Shopify-Topic`.
    pub fn as_str(self) -> &'static str {
        match self {
            Topic::OrdersCreate => "orders/create",
            Topic::OrdersUpdated => "orders/updated",
            Topic::OrdersPaid => "orders/paid",
            Topic::OrdersFulfilled => "orders/fulfilled",
            Topic::OrdersPartiallyFulfilled => "orders/partially_fulfilled",
            Topic::OrdersCancelled => "orders/cancelled",
            Topic::OrdersEdited => "orders/edited",
            Topic::OrdersDelete => "orders/delete",
            Topic::RefundsCreate => "refunds/create",
            Topic::CustomersCreate => "customers/create",
            Topic::CustomersUpdate => "customers/update",
            Topic::CustomersEnable => "customers/enable",
            Topic::CustomersDisable => "customers/disable",
            Topic::CustomersDelete => "customers/delete",
            Topic::CustomersMerge => "customers/merge",
            Topic::CustomersEmailMarketingConsentUpdate => {
                "customers_email_marketing_consent/update"
            }
            Topic::CustomersMarketingConsentUpdate => "customers_marketing_consent/update",
            Topic::CustomersPurchasingSummary => "customers/purchasing_summary",
            Topic::CustomerTagsAdded => "customer.tags_added",
            Topic::CustomerTagsRemoved => "customer.tags_removed",
            Topic::ProductsCreate => "products/create",
            Topic::ProductsUpdate => "products/update",
            Topic::ProductsDelete => "products/delete",
            Topic::CheckoutsCreate => "checkouts/create",
            Topic::CheckoutsUpdate => "checkouts/update",
            Topic::CheckoutsDelete => "checkouts/delete",
            Topic::FulfillmentsCreate => "fulfillments/create",
            Topic::FulfillmentsUpdate => "fulfillments/update",
            Topic::CustomersRedact => "customers/redact",
            Topic::CustomersDataRequest => "customers/data_request",
            Topic::ShopRedact => "shop/redact",
            Topic::AppUninstalled => "app/uninstalled",
        }
    }

    /// Parses a header value. Shopify's Events system also uses the
    /// GraphQL enum spelling (`ORDERS_CREATE`), so both are accepted.
    pub fn parse(raw: &str) -> Option<Topic> {
        let normalised = raw.trim();
        Topic::ALL
            .into_iter()
            .find(|t| t.as_str() == normalised || t.is_graphql_name(normalised))
    }

    /// Whether `raw` is this topic's GraphQL spelling in any case (`/` and
    /// `.` as `_`), compared in place: this runs per webhook and topic.
    fn is_graphql_name(self, raw: &str) -> bool {
        let name = self.as_str();
        name.len() == raw.len()
            && name.bytes().zip(raw.bytes()).all(|(n, r)| {
                let n = if matches!(n, b'/' | b'.') { b'_' } else { n };
                n.eq_ignore_ascii_case(&r)
            })
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A topic header as received: either one we support or a syntactically
/// valid name we do not (those are parked, never rejected, so Shopify does
/// not retry them for hours).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopicName {
    Known(Topic),
    Unsupported(String),
}

/// Why a topic header value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must look like `resource/event` (letters, digits, `_`, `.`, `/`), at most 100 characters")]
pub struct InvalidTopic;

impl TopicName {
    pub fn parse(raw: &str) -> Result<TopicName, InvalidTopic> {
        let raw = raw.trim();
        if let Some(t) = Topic::parse(raw) {
            return Ok(TopicName::Known(t));
        }
        let well_formed = !raw.is_empty()
            && raw.len() <= 100
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'/' | b'.' | b'-'));
        if well_formed {
            Ok(TopicName::Unsupported(raw.to_owned()))
        } else {
            Err(InvalidTopic)
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            TopicName::Known(t) => t.as_str(),
            TopicName::Unsupported(s) => s,
        }
    }

    /// A label value with bounded cardinality for metrics.
    pub fn metric_label(&self) -> &'static str {
        match self {
            TopicName::Known(t) => t.as_str(),
            TopicName::Unsupported(_) => "unsupported",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_topic_round_trips_through_its_header_spelling() {
        for t in Topic::ALL {
            assert_eq!(Topic::parse(t.as_str()), Some(t));
        }
    }

    #[test]
    fn graphql_spelling_is_accepted() {
        assert_eq!(Topic::parse("ORDERS_CREATE"), Some(Topic::OrdersCreate));
        assert_eq!(
            Topic::parse("CUSTOMER_TAGS_ADDED"),
            Some(Topic::CustomerTagsAdded)
        );
    }

    #[test]
    fn graphql_spellings_match_as_the_built_names_did() {
        // The comparison before it stopped building the name per topic.
        let built = |t: Topic, raw: &str| {
            t.as_str()
                .replace(['/', '.'], "_")
                .to_ascii_uppercase()
                .eq_ignore_ascii_case(raw)
        };
        for t in Topic::ALL {
            let upper = t.as_str().replace(['/', '.'], "_").to_ascii_uppercase();
            let candidates = [
                upper.clone(),
                upper.to_ascii_lowercase(),
                t.as_str().to_owned(),
                format!("{upper}_"),
                upper.replace('_', "/"),
                upper.replace('_', "-"),
                "ORDERS_CREATÉ".to_owned(),
            ];
            for other in Topic::ALL {
                for raw in &candidates {
                    assert_eq!(
                        other.is_graphql_name(raw),
                        built(other, raw),
                        "{other:?} {raw}"
                    );
                }
            }
        }
    }

    #[test]
    fn unknown_but_well_formed_topics_are_unsupported_not_invalid() {
        assert_eq!(
            TopicName::parse("carts/create"),
            Ok(TopicName::Unsupported("carts/create".into()))
        );
        assert_eq!(TopicName::parse("bad topic\r\n"), Err(InvalidTopic));
        assert_eq!(TopicName::parse(""), Err(InvalidTopic));
    }
}

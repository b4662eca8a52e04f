//! Topic → typed payload.

use serde::de::DeserializeOwned;

use super::{
    Checkout, CheckoutDelete, Customer, CustomerDelete, CustomerMerge, CustomerRedact,
    CustomerTagsEvent, DataRequest, EmailConsentUpdate, Order, OrderDelete, OrderEdited, Product,
    ProductDelete, PurchasingSummary, Refund, SmsConsentUpdate,
};
use crate::Topic;

/// A decoded webhook body. Large payloads are boxed to keep the enum small.
#[derive(Debug, Clone, PartialEq)]
pub enum ShopifyPayload {
    Order(Box<Order>),
    OrderEdited(OrderEdited),
    OrderDelete(OrderDelete),
    Refund(Box<Refund>),
    Customer(Box<Customer>),
    CustomerDelete(CustomerDelete),
    CustomerMerge(CustomerMerge),
    EmailConsent(EmailConsentUpdate),
    SmsConsent(SmsConsentUpdate),
    TagsAdded(CustomerTagsEvent),
    TagsRemoved(CustomerTagsEvent),
    PurchasingSummary(PurchasingSummary),
    Product(Box<Product>),
    ProductDelete(ProductDelete),
    Checkout(Box<Checkout>),
    CheckoutDelete(CheckoutDelete),
    CustomerRedact(CustomerRedact),
    DataRequest(DataRequest),
    /// `shop/redact`: the payload only names the shop (which the headers
    /// already carry).
    ShopRedact,
    /// `app/uninstalled`: the shop object; only the event matters.
    AppUninstalled,
    /// Topics with nothing to map to Ometria (fulfilments: the order topics
    /// carry the same state).
    NotMapped(Topic),
}

/// The body does not have the shape its topic promises.
#[derive(Debug, thiserror::Error)]
#[error("{topic} payload does not match its schema")]
pub struct DecodeError {
    pub topic: Topic,
    #[source]
    pub source: serde_json::Error,
}

/// Decodes `body` as the payload of `topic`. Unknown fields are ignored.
pub fn decode(topic: Topic, body: &[u8]) -> Result<ShopifyPayload, DecodeError> {
    fn parse<T: DeserializeOwned>(topic: Topic, body: &[u8]) -> Result<T, DecodeError> {
        serde_json::from_slice(body).map_err(|source| DecodeError { topic, source })
    }
    use ShopifyPayload as P;
    // Exhaustive on purpose: a new topic must decide how it decodes.
    let payload = match topic {
        Topic::OrdersCreate
        | Topic::OrdersUpdated
        | Topic::OrdersPaid
        | Topic::OrdersFulfilled
        | Topic::OrdersPartiallyFulfilled
        | Topic::OrdersCancelled => P::Order(Box::new(parse(topic, body)?)),
        Topic::OrdersEdited => P::OrderEdited(parse(topic, body)?),
        Topic::OrdersDelete => P::OrderDelete(parse(topic, body)?),
        Topic::RefundsCreate => P::Refund(Box::new(parse(topic, body)?)),
        Topic::CustomersCreate
        | Topic::CustomersUpdate
        | Topic::CustomersEnable
        | Topic::CustomersDisable => P::Customer(Box::new(parse(topic, body)?)),
        Topic::CustomersDelete => P::CustomerDelete(parse(topic, body)?),
        Topic::CustomersMerge => P::CustomerMerge(parse(topic, body)?),
        Topic::CustomersEmailMarketingConsentUpdate => P::EmailConsent(parse(topic, body)?),
        Topic::CustomersMarketingConsentUpdate => P::SmsConsent(parse(topic, body)?),
        Topic::CustomerTagsAdded => P::TagsAdded(parse(topic, body)?),
        Topic::CustomerTagsRemoved => P::TagsRemoved(parse(topic, body)?),
        Topic::CustomersPurchasingSummary => P::PurchasingSummary(parse(topic, body)?),
        Topic::ProductsCreate | Topic::ProductsUpdate => P::Product(Box::new(parse(topic, body)?)),
        Topic::ProductsDelete => P::ProductDelete(parse(topic, body)?),
        Topic::CheckoutsCreate | Topic::CheckoutsUpdate => {
            P::Checkout(Box::new(parse(topic, body)?))
        }
        Topic::CheckoutsDelete => P::CheckoutDelete(parse(topic, body)?),
        Topic::CustomersRedact => P::CustomerRedact(parse(topic, body)?),
        Topic::CustomersDataRequest => P::DataRequest(parse(topic, body)?),
        Topic::ShopRedact => P::ShopRedact,
        Topic::AppUninstalled => P::AppUninstalled,
        Topic::FulfillmentsCreate | Topic::FulfillmentsUpdate => P::NotMapped(topic),
    };
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_an_order_with_an_exact_big_id() {
        let body = br#"{"id":820982911946154508,"line_items":[],"total_price":"1.00"}"#;
        let ShopifyPayload::Order(order) = decode(Topic::OrdersCreate, body).unwrap() else {
            panic!("not an order");
        };
        assert_eq!(order.id.get(), 820_982_911_946_154_508);
    }

    #[test]
    fn names_the_topic_when_the_shape_is_wrong() {
        let err = decode(Topic::RefundsCreate, br#"{"id":1}"#).unwrap_err();
        assert_eq!(err.topic, Topic::RefundsCreate);
        assert!(err.to_string().contains("refunds/create"));
    }
}

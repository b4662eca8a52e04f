//! Shopify webhook payloads, reduced to the fields the Ometria mapping reads.
//!
//! Unknown fields are ignored, so new Shopify fields never break decoding.
//! Ids are exact `u64`s ([`ShopifyId`]), money is exact ([`Money`]) and
//! timestamps keep their offset.

mod checkout;
mod customer;
mod de;
mod decode;
mod id;
mod money;
mod order;
mod privacy;
mod product;
mod refund;

pub use checkout::{Checkout, CheckoutDelete, CheckoutLineItem};
pub use customer::{
    ConsentState, Customer, CustomerDelete, CustomerMerge, CustomerTagsEvent, EmailConsentUpdate,
    MarketingConsent, MergedCustomers, MoneyV2, PurchasingSummary, SmsConsentUpdate,
};
pub use de::Count;
pub use decode::{DecodeError, ShopifyPayload, decode};
pub use id::ShopifyId;
pub use money::{InvalidMoney, Money, MoneyAmount, MoneySet};
pub use order::{
    Address, AmountLine, DiscountCode, LineItem, Order, OrderDelete, OrderEdit, OrderEdited,
    ShippingLine, TaxLine,
};
pub use privacy::{CustomerRedact, DataRequest, DataRequestId, PrivacyCustomer};
pub use product::{Image, Product, ProductDelete, Variant};
pub use refund::{Refund, RefundLineItem, Transaction};

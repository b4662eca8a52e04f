//! The records a test seeds, in Rust terms. `nodes.rs` turns them into the
//! Admin GraphQL object shapes the fake serves.
//!
//! Money amounts are decimal strings, as Shopify sends them; enum-valued
//! fields that only the fake displays (`financial_status`, product `status`,
//! customer `state`) are their GraphQL enum spellings, e.g. `"PAID"`.

use chrono::{DateTime, Utc};

/// `CustomerEmailMarketingState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MarketingState {
    NotSubscribed,
    Pending,
    Subscribed,
    Unsubscribed,
    Redacted,
    Invalid,
}

impl MarketingState {
    /// Every value, for parsing and generators.
    pub const ALL: [MarketingState; 6] = [
        MarketingState::NotSubscribed,
        MarketingState::Pending,
        MarketingState::Subscribed,
        MarketingState::Unsubscribed,
        MarketingState::Redacted,
        MarketingState::Invalid,
    ];

    /// GraphQL spelling, e.g. `NOT_SUBSCRIBED`.
    pub fn as_str(self) -> &'static str {
        match self {
            MarketingState::NotSubscribed => "NOT_SUBSCRIBED",
            MarketingState::Pending => "PENDING",
            MarketingState::Subscribed => "SUBSCRIBED",
            MarketingState::Unsubscribed => "UNSUBSCRIBED",
            MarketingState::Redacted => "REDACTED",
            MarketingState::Invalid => "INVALID",
        }
    }

    /// Parses the GraphQL spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// Whether `customerEmailMarketingConsentUpdate` accepts it as input
    /// (shopify.md §5: NOT_SUBSCRIBED, REDACTED and INVALID are rejected).
    pub fn settable(self) -> bool {
        matches!(
            self,
            MarketingState::Subscribed | MarketingState::Unsubscribed | MarketingState::Pending
        )
    }
}

/// `CustomerMarketingOptInLevel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OptInLevel {
    SingleOptIn,
    ConfirmedOptIn,
    Unknown,
}

impl OptInLevel {
    /// GraphQL spelling, e.g. `SINGLE_OPT_IN`.
    pub fn as_str(self) -> &'static str {
        match self {
            OptInLevel::SingleOptIn => "SINGLE_OPT_IN",
            OptInLevel::ConfirmedOptIn => "CONFIRMED_OPT_IN",
            OptInLevel::Unknown => "UNKNOWN",
        }
    }

    /// Parses the GraphQL spelling.
    pub fn parse(s: &str) -> Option<Self> {
        [
            OptInLevel::SingleOptIn,
            OptInLevel::ConfirmedOptIn,
            OptInLevel::Unknown,
        ]
        .into_iter()
        .find(|l| l.as_str() == s)
    }
}

/// A customer's email marketing consent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailConsent {
    pub state: MarketingState,
    pub opt_in_level: Option<OptInLevel>,
    pub consent_updated_at: Option<DateTime<Utc>>,
}

/// A `MailingAddress`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Address {
    pub address1: Option<String>,
    pub city: Option<String>,
    pub province_code: Option<String>,
    pub country_code: Option<String>,
    pub zip: Option<String>,
}

/// A seeded customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    pub id: u64,
    /// Shopify customers may have no email (phone-only); consent updates then
    /// fail with a userError.
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<String>,
    /// `CustomerState`: `DISABLED`, `INVITED`, `ENABLED` or `DECLINED`.
    pub state: String,
    pub tags: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// `None` reads as `NOT_SUBSCRIBED` (and `null` when there is no email).
    pub email_consent: Option<EmailConsent>,
    pub default_address: Option<Address>,
}

impl Customer {
    /// A minimal enabled customer created and updated at `at`.
    pub fn new(id: u64, email: Option<&str>, at: DateTime<Utc>) -> Self {
        Customer {
            id,
            email: email.map(str::to_owned),
            first_name: None,
            last_name: None,
            phone: None,
            state: "ENABLED".to_owned(),
            tags: Vec::new(),
            created_at: at,
            updated_at: at,
            email_consent: None,
            default_address: None,
        }
    }

    /// Sets the consent state (opt-in level `SINGLE_OPT_IN`, updated at
    /// `updated_at`).
    pub fn with_consent(mut self, state: MarketingState) -> Self {
        self.email_consent = Some(EmailConsent {
            state,
            opt_in_level: Some(OptInLevel::SingleOptIn),
            consent_updated_at: Some(self.updated_at),
        });
        self
    }

    /// The effective consent state.
    pub fn marketing_state(&self) -> MarketingState {
        self.email_consent
            .as_ref()
            .map_or(MarketingState::NotSubscribed, |c| c.state)
    }
}

/// A seeded order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub id: u64,
    /// e.g. `#1001`.
    pub name: String,
    pub email: Option<String>,
    pub customer_id: Option<u64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub processed_at: DateTime<Utc>,
    pub cancelled_at: Option<DateTime<Utc>>,
    /// ISO 4217, e.g. `GBP`.
    pub currency: String,
    pub subtotal_price: String,
    pub total_tax: String,
    pub total_discounts: String,
    pub total_price: String,
    /// After refunds and edits.
    pub current_total_price: String,
    /// `OrderDisplayFinancialStatus`, e.g. `PAID`, `PARTIALLY_REFUNDED`.
    pub financial_status: String,
    pub line_items: Vec<LineItem>,
    pub refunds: Vec<Refund>,
}

/// A seeded order line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineItem {
    pub id: u64,
    pub quantity: u32,
    pub sku: Option<String>,
    pub title: String,
    pub variant_id: Option<u64>,
    pub product_id: Option<u64>,
    pub unit_price: String,
}

/// A seeded refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    pub id: u64,
    pub created_at: DateTime<Utc>,
    pub total_refunded: String,
    pub line_items: Vec<RefundLineItem>,
}

/// One refunded order line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundLineItem {
    pub id: u64,
    /// Must be a line of the same order.
    pub line_item_id: u64,
    pub quantity: u32,
    pub subtotal: String,
}

/// A seeded product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    pub id: u64,
    pub title: String,
    pub handle: String,
    pub vendor: String,
    pub product_type: String,
    /// `ProductStatus`: `ACTIVE`, `ARCHIVED` or `DRAFT`.
    pub status: String,
    pub tags: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub variants: Vec<Variant>,
}

/// A product variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    pub id: u64,
    pub sku: Option<String>,
    pub price: String,
    pub title: String,
}

/// A seeded abandoned checkout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbandonedCheckout {
    pub id: u64,
    /// Since 2026-04 the checkout key in webhooks; part of the recovery URL.
    pub token: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Set once the checkout converted into an order.
    pub completed_at: Option<DateTime<Utc>>,
    pub customer_id: Option<u64>,
    pub currency: String,
    pub total_price: String,
    pub line_items: Vec<CheckoutLineItem>,
}

/// A line of an abandoned checkout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutLineItem {
    pub id: u64,
    pub title: String,
    pub quantity: u32,
    pub variant_id: Option<u64>,
    pub product_id: Option<u64>,
    pub sku: Option<String>,
}

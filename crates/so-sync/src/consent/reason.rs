//! Why an unsubscribe was or was not written back: the bounded reasons.

/// Why an unsubscribe was or was not written back. Bounded: these are
/// metric labels and the `reason` of [`ConsentDecision`](so_store::ConsentDecision).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reason {
    /// Every condition held: Shopify now has the customer unsubscribed.
    Sent,
    /// An SMS stop-word unsubscribe (`stopword_unsubscribe_*`): not email
    /// consent.
    SmsUnsubscribe,
    /// The same profile unsubscribed again later in the same window; the
    /// latest one is decided instead.
    DuplicateInWindow,
    /// No profile: the one named does not exist, or (no `profile_id`) none
    /// has the unsubscribe's email.
    ProfileNotFound,
    /// No `profile_id`, and several profiles with the email are customers
    /// of this shop: which one unsubscribed is unknown.
    ProfileAmbiguous,
    /// Condition 1: the profile is no longer opted out in Ometria.
    ResubscribedInOmetria,
    /// Condition 2: the profile has no `customer_id`, or not one of the form
    /// `<namespace><digits>` (a guest or subscriber-only contact).
    NoShopifyCustomerId,
    /// Condition 2: the `customer_id` carries another shop's namespace.
    OtherStoreNamespace,
    /// Condition 3: Shopify has no such customer.
    CustomerNotInShopify,
    /// Shopify's customer has no email address, so it has no email consent.
    CustomerHasNoEmail,
    /// Shopify already holds the customer as unsubscribed: nothing to send
    /// (and no echo webhook to cause).
    AlreadyUnsubscribedInShopify,
    /// The customer subscribed in Shopify after the Ometria unsubscribe: the
    /// newer choice stands.
    ShopifyConsentNewer,
    /// Shopify answered the mutation with userErrors.
    ShopifyRefused,
}

impl Reason {
    /// Every reason, in documentation order.
    pub const ALL: [Reason; 13] = [
        Reason::Sent,
        Reason::SmsUnsubscribe,
        Reason::DuplicateInWindow,
        Reason::ProfileNotFound,
        Reason::ProfileAmbiguous,
        Reason::ResubscribedInOmetria,
        Reason::NoShopifyCustomerId,
        Reason::OtherStoreNamespace,
        Reason::CustomerNotInShopify,
        Reason::CustomerHasNoEmail,
        Reason::AlreadyUnsubscribedInShopify,
        Reason::ShopifyConsentNewer,
        Reason::ShopifyRefused,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Reason::Sent => "sent",
            Reason::SmsUnsubscribe => "sms_unsubscribe",
            Reason::DuplicateInWindow => "duplicate_in_window",
            Reason::ProfileNotFound => "profile_not_found",
            Reason::ProfileAmbiguous => "profile_ambiguous",
            Reason::ResubscribedInOmetria => "resubscribed_in_ometria",
            Reason::NoShopifyCustomerId => "no_shopify_customer_id",
            Reason::OtherStoreNamespace => "other_store_namespace",
            Reason::CustomerNotInShopify => "customer_not_in_shopify",
            Reason::CustomerHasNoEmail => "customer_has_no_email",
            Reason::AlreadyUnsubscribedInShopify => "already_unsubscribed_in_shopify",
            Reason::ShopifyConsentNewer => "shopify_consent_newer",
            Reason::ShopifyRefused => "shopify_refused",
        }
    }

    /// `sent` or `skipped`.
    pub fn decision(self) -> &'static str {
        match self {
            Reason::Sent => "sent",
            _ => "skipped",
        }
    }

    pub fn parse(raw: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.as_str() == raw)
    }
}

const REASON_NAMES: [&str; 13] = [
    Reason::ALL[0].as_str(),
    Reason::ALL[1].as_str(),
    Reason::ALL[2].as_str(),
    Reason::ALL[3].as_str(),
    Reason::ALL[4].as_str(),
    Reason::ALL[5].as_str(),
    Reason::ALL[6].as_str(),
    Reason::ALL[7].as_str(),
    Reason::ALL[8].as_str(),
    Reason::ALL[9].as_str(),
    Reason::ALL[10].as_str(),
    Reason::ALL[11].as_str(),
    Reason::ALL[12].as_str(),
];

/// The bounded `reason` values of decisions (`sent` first), for docs and
/// for exporting [`DECISIONS_METRIC`](super::DECISIONS_METRIC) at zero.
pub fn decision_reasons() -> &'static [&'static str] {
    &REASON_NAMES
}

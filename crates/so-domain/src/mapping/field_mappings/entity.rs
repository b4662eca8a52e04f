//! The entities a merchant maps fields into, and the sources each offers.

use std::fmt;

/// Fields of a Shopify address object a merchant may map.
pub(super) const ADDRESS_FIELDS: &[&str] = &[
    "address1",
    "address2",
    "city",
    "province",
    "province_code",
    "country",
    "country_code",
    "country_name",
    "zip",
    "company",
];

/// The record an extra field goes into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MappedEntity {
    /// From a Shopify customer payload.
    Contact,
    /// From a Shopify order payload.
    Order,
    /// From a Shopify product payload.
    Product,
}

impl MappedEntity {
    /// In config order: contact, order, product.
    pub const ALL: [MappedEntity; 3] = [
        MappedEntity::Contact,
        MappedEntity::Order,
        MappedEntity::Product,
    ];

    /// The config table name: `mappings.<entity>`.
    pub fn as_str(self) -> &'static str {
        match self {
            MappedEntity::Contact => "contact",
            MappedEntity::Order => "order",
            MappedEntity::Product => "product",
        }
    }

    /// What an entity's payload offers. One table drives both the parser and
    /// the "supported fields" list in its error, so they cannot drift apart.
    pub(super) fn spec(self) -> &'static Spec {
        match self {
            MappedEntity::Contact => &CONTACT,
            MappedEntity::Order => &ORDER,
            MappedEntity::Product => &PRODUCT,
        }
    }

    /// The Ometria record's own fields: a merchant property of that name
    /// would read as a field of the record in Ometria's UI and exports.
    pub(super) fn record_fields(self) -> &'static [&'static str] {
        match self {
            MappedEntity::Contact => &[
                "id",
                "email",
                "phone_number",
                "customer_id",
                "firstname",
                "lastname",
                "middlename",
                "prefix",
                "gender",
                "date_of_birth",
                "country_id",
                "timezone",
                "store_ids",
                "marketing_optin",
                "timestamp_acquired",
                "timestamp_subscribed",
                "timestamp_unsubscribed",
                "channels",
                "properties",
            ],
            MappedEntity::Order => &[
                "id",
                "timestamp",
                "grand_total",
                "subtotal",
                "discount",
                "shipping",
                "tax",
                "currency",
                "status",
                "is_valid",
                "web_id",
                "ip_address",
                "channel",
                "store",
                "payment_method",
                "shipping_method",
                "coupon_code",
                "customer",
                "billing_address",
                "shipping_address",
                "totals",
                "lineitems",
                "properties",
            ],
            MappedEntity::Product => &[
                "id",
                "title",
                "sku",
                "price",
                "special_price",
                "is_active",
                "is_variant",
                "is_in_stock",
                "url",
                "image_url",
                "currency",
                "attributes",
                "listings",
                "properties",
            ],
        }
    }
}

impl fmt::Display for MappedEntity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The source paths an entity supports besides `metafields.<ns>.<key>` and
/// `tags`, which every entity has.
pub(super) struct Spec {
    pub(super) note_attributes: bool,
    pub(super) discount_codes: bool,
    /// Top-level payload fields, copied as they are (within the limits).
    pub(super) fields: &'static [&'static str],
    /// Address objects; each offers [`ADDRESS_FIELDS`].
    pub(super) addresses: &'static [&'static str],
}

const CONTACT: Spec = Spec {
    note_attributes: false,
    discount_codes: false,
    fields: &["note", "state", "currency", "verified_email", "tax_exempt"],
    addresses: &["default_address"],
};

const ORDER: Spec = Spec {
    note_attributes: true,
    discount_codes: true,
    fields: &[
        "note",
        "source_name",
        "landing_site",
        "referring_site",
        "customer_locale",
        "financial_status",
        "fulfillment_status",
        "payment_gateway_names",
    ],
    addresses: &["shipping_address", "billing_address"],
};

const PRODUCT: Spec = Spec {
    note_attributes: false,
    discount_codes: false,
    fields: &["vendor", "product_type", "handle", "status"],
    addresses: &[],
};

impl Spec {
    /// The supported sources as a merchant would write them.
    pub(super) fn describe(&self) -> String {
        let mut parts = vec!["metafields.<namespace>.<key>".to_owned()];
        if self.note_attributes {
            parts.push("note_attributes.<name>".to_owned());
        }
        parts.push("tags".to_owned());
        parts.extend(self.fields.iter().map(|f| (*f).to_owned()));
        if self.discount_codes {
            parts.push("discount_codes".to_owned());
        }
        parts.extend(self.addresses.iter().map(|a| format!("{a}.<field>")));
        let mut text = parts.join(", ");
        if !self.addresses.is_empty() {
            text.push_str("; address fields: ");
            text.push_str(&ADDRESS_FIELDS.join(", "));
        }
        text
    }
}

//! Which Ometria contact a Shopify event is about, and how that stays stable.
//!
//! Pure rules over an [`IdentitySnapshot`] that the identity store loads;
//! they return the [`IdentityDecision`]s the store applies. Keeping the
//! decisions here and the writes in the store means the store alone owns
//! concurrency (insert-if-absent, compare-and-set) while the rules stay
//! testable. Rationale and worked examples: `docs/identity.md`.
//!
//! No Ometria id ever contains PII: customers are keyed by their Shopify id,
//! guests by an opaque random id, never by an email or a hash of one.

use std::fmt;

use crate::shopify::{MergedCustomers, ShopifyId};

mod listing;

pub use listing::{CustomerListing, separate_guest};
use listing::{active_customer, known_listing};

/// Per-shop prefix of every Ometria id: `""` for a single shop, `"uk:"`...
/// It must equal the namespace of Ometria's Shopify unsubscribe connection.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Namespace(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("namespace must be empty or 1-16 of [a-z0-9_-] followed by `:` (e.g. `uk:`)")]
pub struct InvalidNamespace;

impl Namespace {
    pub fn parse(raw: &str) -> Result<Namespace, InvalidNamespace> {
        if raw.is_empty() {
            return Ok(Namespace::default());
        }
        let name = raw.strip_suffix(':').ok_or(InvalidNamespace)?;
        let ok = (1..=16).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if ok {
            Ok(Namespace(raw.to_owned()))
        } else {
            Err(InvalidNamespace)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `<namespace><raw>`: the form of every Ometria id we send.
    pub fn id(&self, raw: impl fmt::Display) -> String {
        format!("{}{raw}", self.0)
    }
}

/// Ometria `@collection` of a contact. Distinct from whatever Ometria's own
/// Shopify importer uses, so both can run without overwriting each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContactCollection {
    /// Anyone with a Shopify customer record (account or not).
    Customers,
    /// An email seen on an order or checkout without any customer record.
    Guests,
}

impl ContactCollection {
    pub fn as_str(self) -> &'static str {
        match self {
            ContactCollection::Customers => "shopify_customers",
            ContactCollection::Guests => "shopify_guests",
        }
    }
}

/// Opaque guest id: `g-` and 32 hex digits from 16 random bytes. Random,
/// not derived from the email, so it reveals nothing and cannot be
/// recomputed from a leaked address list.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GuestId(String);

impl GuestId {
    /// The store draws the bytes (this crate does no I/O, randomness included).
    pub fn from_random(bytes: [u8; 16]) -> GuestId {
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        GuestId(format!("g-{hex}"))
    }

    /// Reads back an id the store saved.
    pub fn parse(raw: &str) -> Option<GuestId> {
        let hex = raw.strip_prefix("g-")?;
        let ok = hex.len() == 32
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        ok.then(|| GuestId(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An email in the form guests are keyed on. PII: `Debug` is redacted so it
/// cannot leak into logs by accident.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NormalisedEmail(String);

impl NormalisedEmail {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NormalisedEmail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NormalisedEmail(<redacted>)")
    }
}

/// Trims and lower-cases; `None` if it is not plausibly an address.
///
/// Deliberately does NOT strip dots or `+tags` (`a.b+x@gmail.com`): that
/// equivalence holds for some providers only, and merging two real people
/// would show one person's orders and consent to the other. A missed match
/// costs little: Ometria still clusters both contacts by email.
pub fn normalise_email(raw: &str) -> Option<NormalisedEmail> {
    let email = raw.trim().to_lowercase();
    let (local, domain) = email.rsplit_once('@')?;
    let ok = !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && email.len() <= 254
        && !email.chars().any(char::is_whitespace);
    ok.then_some(NormalisedEmail(email))
}

/// The contact an event is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ContactRef {
    namespace: Namespace,
    subject: ContactSubject,
    /// For a customer: the listing it uses (its own, or a guest's it
    /// adopted).
    listing: CustomerListing,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ContactSubject {
    Customer(ShopifyId),
    Guest(GuestId),
}

impl ContactRef {
    /// A customer on its own listing.
    pub fn customer(namespace: &Namespace, id: ShopifyId) -> ContactRef {
        ContactRef::customer_on(namespace, id, CustomerListing::Own)
    }

    /// A customer on the listing identity chose for it.
    pub fn customer_on(
        namespace: &Namespace,
        id: ShopifyId,
        listing: CustomerListing,
    ) -> ContactRef {
        ContactRef {
            namespace: namespace.clone(),
            subject: ContactSubject::Customer(id),
            listing,
        }
    }

    pub fn guest(namespace: &Namespace, id: GuestId) -> ContactRef {
        ContactRef {
            namespace: namespace.clone(),
            subject: ContactSubject::Guest(id),
            listing: CustomerListing::Own,
        }
    }

    pub fn subject(&self) -> &ContactSubject {
        &self.subject
    }

    pub fn collection(&self) -> ContactCollection {
        match (&self.subject, &self.listing) {
            (ContactSubject::Customer(_), CustomerListing::Own) => ContactCollection::Customers,
            (ContactSubject::Customer(_), CustomerListing::Guest(_))
            | (ContactSubject::Guest(_), _) => ContactCollection::Guests,
        }
    }

    /// The contact's Ometria `id` (its listing's).
    pub fn ometria_id(&self) -> String {
        match (&self.subject, &self.listing) {
            (ContactSubject::Customer(id), CustomerListing::Own) => self.namespace.id(id),
            (ContactSubject::Customer(_), CustomerListing::Guest(id))
            | (ContactSubject::Guest(id), _) => self.namespace.id(id.as_str()),
        }
    }

    /// Ometria `customer_id`: only registered customers have one; it links
    /// their orders and is what Ometria's unsubscribe write-back reads.
    pub fn customer_id(&self) -> Option<String> {
        match &self.subject {
            ContactSubject::Customer(id) => Some(self.namespace.id(id)),
            ContactSubject::Guest(_) => None,
        }
    }
}

/// What the store knows about a customer id. Never seen = `Active`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CustomerStatus {
    #[default]
    Active,
    Deleted,
    /// `customers/redact` was applied: never push this customer again.
    Redacted,
    /// `customers/merge` removed this customer in favour of another.
    MergedInto(ShopifyId),
}

/// The guest remembered for one (shop, normalised email).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestRecord {
    pub guest_id: GuestId,
    /// Set when that email later belonged to a customer. Store invariant:
    /// points at an active customer (merges repoint, deletes clear it).
    pub linked_customer: Option<ShopifyId>,
    /// The linked customer's listing, once it has one.
    pub linked_listing: Option<CustomerListing>,
    /// The row only records a customer's claim on its email: no guest
    /// listing exists in Ometria, so there is nothing to adopt.
    pub claim: bool,
}

/// What the store loads for one event, all within the event's shop.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IdentitySnapshot {
    /// Status of the event's customer id (default if none or never seen).
    pub customer: CustomerStatus,
    /// Guest remembered for the event's normalised email, if any.
    pub guest: Option<GuestRecord>,
    /// The event's email belongs to a person whose data was redacted
    /// (`customers/redact`): a guest purchase with it must not bring them
    /// back.
    pub email_suppressed: bool,
    /// The listing of the event's customer (the survivor, if it was merged
    /// away); `None` until its first event chose one.
    pub listing: Option<CustomerListing>,
}

/// A change the store applies (all scoped to the event's shop).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentityDecision {
    /// Insert if absent. On conflict another event won the race: reload
    /// the snapshot and decide again, so both events use the same guest.
    RememberGuest {
        email: NormalisedEmail,
        guest_id: GuestId,
    },
    /// The guest's email now belongs to a customer: later purchases with
    /// only that email resolve to the customer. Set once, never moved.
    LinkGuestToCustomer {
        guest_id: GuestId,
        customer_id: ShopifyId,
    },
    /// Record `from` as merged into `to`, and repoint guest links and
    /// redirects that targeted `from`, so chains stay one step long.
    RedirectCustomer {
        from: ShopifyId,
        to: ShopifyId,
    },
    /// The customer's listing, chosen on its first event. Insert if absent;
    /// on conflict another event chose first: reload and decide again.
    SetListing {
        customer_id: ShopifyId,
        listing: CustomerListing,
    },
    /// Tombstone the customer and clear guest links to it.
    MarkCustomerDeleted {
        customer_id: ShopifyId,
    },
    MarkCustomerRedacted {
        customer_id: ShopifyId,
    },
}

/// Where an event's records go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    Contact(ContactRef),
    /// Push nothing about this person (the order itself may still go).
    Suppressed(SuppressReason),
    /// Nothing identifies a person (e.g. an order without email or customer).
    NoContact,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SuppressReason {
    Deleted,
    Redacted,
    MergedInto(ShopifyId),
}

/// A resolution plus the store changes it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityOutcome {
    pub resolution: Resolution,
    pub decisions: Vec<IdentityDecision>,
}

/// Request for Ometria's `POST /v2/merge-profile` (slow queue: 1/min).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileMerge {
    /// `customer_id` of the survivor.
    pub survivor_customer_id: String,
    pub merged_customer_ids: Vec<String>,
}

/// Orders and checkouts: the customer if there is one, else a guest.
/// `new_guest_id` is only called when a guest must be created.
pub fn resolve_purchase(
    namespace: &Namespace,
    snapshot: &IdentitySnapshot,
    customer_id: Option<ShopifyId>,
    email: Option<&NormalisedEmail>,
    new_guest_id: impl FnOnce() -> GuestId,
) -> IdentityOutcome {
    if let Some(id) = customer_id {
        // Guests are linked only to a live customer (the store invariant).
        let (resolution, decisions) = match snapshot.customer {
            CustomerStatus::Redacted => {
                (Resolution::Suppressed(SuppressReason::Redacted), Vec::new())
            }
            CustomerStatus::MergedInto(kept) => (
                Resolution::Contact(known_listing(namespace, snapshot, kept)),
                link_guest(snapshot, kept),
            ),
            // A deleted customer's late order still belongs to its listing.
            CustomerStatus::Deleted => (
                Resolution::Contact(known_listing(namespace, snapshot, id)),
                Vec::new(),
            ),
            CustomerStatus::Active => active_customer(namespace, snapshot, id),
        };
        return IdentityOutcome {
            resolution,
            decisions,
        };
    }
    let Some(email) = email else {
        return IdentityOutcome {
            resolution: Resolution::NoContact,
            decisions: Vec::new(),
        };
    };
    if snapshot.email_suppressed {
        return IdentityOutcome {
            resolution: Resolution::Suppressed(SuppressReason::Redacted),
            decisions: Vec::new(),
        };
    }
    match &snapshot.guest {
        Some(GuestRecord {
            linked_customer: Some(owner),
            linked_listing,
            ..
        }) => IdentityOutcome {
            resolution: Resolution::Contact(ContactRef::customer_on(
                namespace,
                *owner,
                linked_listing.clone().unwrap_or_default(),
            )),
            decisions: Vec::new(),
        },
        Some(GuestRecord {
            guest_id,
            linked_customer: None,
            ..
        }) => IdentityOutcome {
            resolution: Resolution::Contact(ContactRef::guest(namespace, guest_id.clone())),
            decisions: Vec::new(),
        },
        None => {
            let guest_id = new_guest_id();
            IdentityOutcome {
                resolution: Resolution::Contact(ContactRef::guest(namespace, guest_id.clone())),
                decisions: vec![IdentityDecision::RememberGuest {
                    email: email.clone(),
                    guest_id,
                }],
            }
        }
    }
}

/// `customers/create|update|enable|disable`, consent, tags and purchasing
/// summary. The contact is keyed by customer id, so an email change keeps
/// it; the new email only links a guest who used it before.
pub fn resolve_customer(
    namespace: &Namespace,
    snapshot: &IdentitySnapshot,
    customer_id: ShopifyId,
) -> IdentityOutcome {
    let resolution = match snapshot.customer {
        CustomerStatus::Active => {
            let (resolution, decisions) = active_customer(namespace, snapshot, customer_id);
            return IdentityOutcome {
                resolution,
                decisions,
            };
        }
        CustomerStatus::Deleted => Resolution::Suppressed(SuppressReason::Deleted),
        CustomerStatus::Redacted => Resolution::Suppressed(SuppressReason::Redacted),
        // Late news about a merged-away customer would resurrect its listing.
        CustomerStatus::MergedInto(kept) => {
            Resolution::Suppressed(SuppressReason::MergedInto(kept))
        }
    };
    IdentityOutcome {
        resolution,
        decisions: Vec::new(),
    }
}

/// A completed `customers/merge`: the kept id survives, the deleted id is
/// redirected, and Ometria is asked to merge the two profiles.
pub fn merge_customers(
    namespace: &Namespace,
    merged: MergedCustomers,
) -> (IdentityDecision, ProfileMerge) {
    let decision = IdentityDecision::RedirectCustomer {
        from: merged.deleted,
        to: merged.kept,
    };
    let request = ProfileMerge {
        survivor_customer_id: namespace.id(merged.kept),
        merged_customer_ids: vec![namespace.id(merged.deleted)],
    };
    (decision, request)
}

/// `customers/delete`: push the deletion marker once, then suppress. A
/// delete for a merged-away customer keeps its redirect instead.
pub fn delete_customer(
    namespace: &Namespace,
    snapshot: &IdentitySnapshot,
    customer_id: ShopifyId,
) -> IdentityOutcome {
    match snapshot.customer {
        CustomerStatus::Active => IdentityOutcome {
            resolution: Resolution::Contact(known_listing(namespace, snapshot, customer_id)),
            decisions: vec![IdentityDecision::MarkCustomerDeleted { customer_id }],
        },
        _ => resolve_customer(namespace, snapshot, customer_id),
    }
}

/// `customers/redact` (after the GDPR request is queued): never push this
/// customer again; orders go on without a `customer` block.
pub fn redact_customer(customer_id: ShopifyId) -> IdentityDecision {
    IdentityDecision::MarkCustomerRedacted { customer_id }
}

fn link_guest(snapshot: &IdentitySnapshot, customer_id: ShopifyId) -> Vec<IdentityDecision> {
    match &snapshot.guest {
        Some(GuestRecord {
            guest_id,
            linked_customer: None,
            ..
        }) => {
            vec![IdentityDecision::LinkGuestToCustomer {
                guest_id: guest_id.clone(),
                customer_id,
            }]
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests;

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
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ContactSubject {
    Customer(ShopifyId),
    Guest(GuestId),
}

impl ContactRef {
    pub fn customer(namespace: &Namespace, id: ShopifyId) -> ContactRef {
        ContactRef {
            namespace: namespace.clone(),
            subject: ContactSubject::Customer(id),
        }
    }

    pub fn guest(namespace: &Namespace, id: GuestId) -> ContactRef {
        ContactRef {
            namespace: namespace.clone(),
            subject: ContactSubject::Guest(id),
        }
    }

    pub fn subject(&self) -> &ContactSubject {
        &self.subject
    }

    pub fn collection(&self) -> ContactCollection {
        match self.subject {
            ContactSubject::Customer(_) => ContactCollection::Customers,
            ContactSubject::Guest(_) => ContactCollection::Guests,
        }
    }

    /// The contact's Ometria `id`.
    pub fn ometria_id(&self) -> String {
        match &self.subject {
            ContactSubject::Customer(id) => self.namespace.id(id),
            ContactSubject::Guest(id) => self.namespace.id(id.as_str()),
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
                Resolution::Contact(ContactRef::customer(namespace, kept)),
                link_guest(snapshot, kept),
            ),
            // A deleted customer's late order still belongs to its listing.
            CustomerStatus::Deleted => (
                Resolution::Contact(ContactRef::customer(namespace, id)),
                Vec::new(),
            ),
            CustomerStatus::Active => (
                Resolution::Contact(ContactRef::customer(namespace, id)),
                link_guest(snapshot, id),
            ),
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
            ..
        }) => IdentityOutcome {
            resolution: Resolution::Contact(ContactRef::customer(namespace, *owner)),
            decisions: Vec::new(),
        },
        Some(GuestRecord {
            guest_id,
            linked_customer: None,
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
        CustomerStatus::Active => Resolution::Contact(ContactRef::customer(namespace, customer_id)),
        CustomerStatus::Deleted => Resolution::Suppressed(SuppressReason::Deleted),
        CustomerStatus::Redacted => Resolution::Suppressed(SuppressReason::Redacted),
        // Late news about a merged-away customer would resurrect its listing.
        CustomerStatus::MergedInto(kept) => {
            Resolution::Suppressed(SuppressReason::MergedInto(kept))
        }
    };
    let decisions = match resolution {
        Resolution::Contact(_) => link_guest(snapshot, customer_id),
        Resolution::Suppressed(_) | Resolution::NoContact => Vec::new(),
    };
    IdentityOutcome {
        resolution,
        decisions,
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
            resolution: Resolution::Contact(ContactRef::customer(namespace, customer_id)),
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
mod tests {
    use super::*;

    const BIG: ShopifyId = ShopifyId::new(820_982_911_946_154_508);

    fn email(raw: &str) -> NormalisedEmail {
        normalise_email(raw).unwrap()
    }

    fn guest(byte: u8) -> GuestId {
        GuestId::from_random([byte; 16])
    }

    #[test]
    fn normalises_case_and_space_but_keeps_dots_and_plus_tags() {
        assert_eq!(
            email("  Jo.Doe+Shop@Example.COM ").as_str(),
            "jo.doe+shop@example.com"
        );
        assert_ne!(email("jodoe@gmail.com"), email("jo.doe@gmail.com"));
        for bad in ["", "no-at", "@x.com", "a@b", "a b@x.com", "a@.com"] {
            assert!(normalise_email(bad).is_none(), "{bad}");
        }
        assert_eq!(
            format!("{:?}", email("a@b.co")),
            "NormalisedEmail(<redacted>)"
        );
    }

    #[test]
    fn ids_are_namespaced_and_free_of_pii() {
        let uk = Namespace::parse("uk:").unwrap();
        let c = ContactRef::customer(&uk, BIG);
        assert_eq!(c.ometria_id(), "uk:820982911946154508");
        assert_eq!(c.customer_id().as_deref(), Some("uk:820982911946154508"));
        assert_eq!(c.collection().as_str(), "shopify_customers");
        let g = ContactRef::guest(&uk, guest(0xab));
        assert_eq!(g.ometria_id(), format!("uk:g-{}", "ab".repeat(16)));
        assert_eq!(g.customer_id(), None);
        assert_eq!(GuestId::parse(guest(1).as_str()), Some(guest(1)));
        assert!(Namespace::parse("UK:").is_err() && Namespace::parse("uk").is_err());
    }

    #[test]
    fn first_guest_purchase_remembers_a_new_guest_and_the_second_reuses_it() {
        let ns = Namespace::default();
        let e = email("guest@example.com");
        let first = resolve_purchase(&ns, &IdentitySnapshot::default(), None, Some(&e), || {
            guest(1)
        });
        assert_eq!(
            first.resolution,
            Resolution::Contact(ContactRef::guest(&ns, guest(1)))
        );
        assert_eq!(
            first.decisions,
            vec![IdentityDecision::RememberGuest {
                email: e.clone(),
                guest_id: guest(1)
            }]
        );
        let known = IdentitySnapshot {
            guest: Some(GuestRecord {
                guest_id: guest(1),
                linked_customer: None,
            }),
            ..Default::default()
        };
        let second = resolve_purchase(&ns, &known, None, Some(&e), || guest(2));
        assert_eq!(second.resolution, first.resolution);
        assert!(second.decisions.is_empty());
    }

    #[test]
    fn guest_who_creates_an_account_is_linked_and_later_guest_orders_go_to_the_customer() {
        let ns = Namespace::default();
        let snap = IdentitySnapshot {
            guest: Some(GuestRecord {
                guest_id: guest(1),
                linked_customer: None,
            }),
            ..Default::default()
        };
        let created = resolve_customer(&ns, &snap, BIG);
        assert_eq!(
            created.resolution,
            Resolution::Contact(ContactRef::customer(&ns, BIG))
        );
        assert_eq!(
            created.decisions,
            vec![IdentityDecision::LinkGuestToCustomer {
                guest_id: guest(1),
                customer_id: BIG
            }]
        );
        let linked = IdentitySnapshot {
            guest: Some(GuestRecord {
                guest_id: guest(1),
                linked_customer: Some(BIG),
            }),
            ..Default::default()
        };
        let later = resolve_purchase(&ns, &linked, None, Some(&email("g@example.com")), || {
            guest(9)
        });
        assert_eq!(
            later.resolution,
            Resolution::Contact(ContactRef::customer(&ns, BIG))
        );
        assert!(
            resolve_customer(&ns, &linked, BIG).decisions.is_empty(),
            "a link is set once"
        );
    }

    #[test]
    fn email_change_keeps_the_contact_keyed_by_customer_id() {
        let ns = Namespace::default();
        let before = resolve_customer(&ns, &IdentitySnapshot::default(), BIG);
        let after = resolve_customer(&ns, &IdentitySnapshot::default(), BIG);
        assert_eq!(before.resolution, after.resolution);
    }

    #[test]
    fn merge_redirects_the_deleted_id_and_suppresses_its_late_events() {
        let ns = Namespace::parse("uk:").unwrap();
        let merged = MergedCustomers {
            kept: BIG,
            deleted: ShopifyId::new(2),
        };
        let (decision, request) = merge_customers(&ns, merged);
        assert_eq!(
            decision,
            IdentityDecision::RedirectCustomer {
                from: ShopifyId::new(2),
                to: BIG
            }
        );
        assert_eq!(request.survivor_customer_id, "uk:820982911946154508");
        assert_eq!(request.merged_customer_ids, vec!["uk:2".to_owned()]);
        let redirected = IdentitySnapshot {
            customer: CustomerStatus::MergedInto(BIG),
            guest: None,
            email_suppressed: false,
        };
        assert_eq!(
            resolve_customer(&ns, &redirected, ShopifyId::new(2)).resolution,
            Resolution::Suppressed(SuppressReason::MergedInto(BIG))
        );
        let order = resolve_purchase(&ns, &redirected, Some(ShopifyId::new(2)), None, || guest(1));
        assert_eq!(
            order.resolution,
            Resolution::Contact(ContactRef::customer(&ns, BIG))
        );
        let late_delete = delete_customer(&ns, &redirected, ShopifyId::new(2));
        assert!(
            late_delete.decisions.is_empty(),
            "a delete must not replace the redirect"
        );
    }

    #[test]
    fn delete_pushes_once_then_suppresses_and_redacted_orders_lose_the_person() {
        let ns = Namespace::default();
        let first = delete_customer(&ns, &IdentitySnapshot::default(), BIG);
        assert_eq!(
            first.decisions,
            vec![IdentityDecision::MarkCustomerDeleted { customer_id: BIG }]
        );
        let deleted = IdentitySnapshot {
            customer: CustomerStatus::Deleted,
            guest: None,
            email_suppressed: false,
        };
        assert_eq!(
            delete_customer(&ns, &deleted, BIG).resolution,
            Resolution::Suppressed(SuppressReason::Deleted)
        );
        let redacted = IdentitySnapshot {
            customer: CustomerStatus::Redacted,
            guest: None,
            email_suppressed: false,
        };
        let order = resolve_purchase(&ns, &redacted, Some(BIG), None, || guest(1));
        assert_eq!(
            order.resolution,
            Resolution::Suppressed(SuppressReason::Redacted)
        );
        // A guest purchase with a redacted person's email: suppressed, and
        // no guest is remembered for it.
        let email = normalise_email("gone@example.com").unwrap();
        let suppressed = IdentitySnapshot {
            email_suppressed: true,
            ..IdentitySnapshot::default()
        };
        let guest_order = resolve_purchase(&ns, &suppressed, None, Some(&email), || guest(1));
        assert_eq!(
            guest_order.resolution,
            Resolution::Suppressed(SuppressReason::Redacted)
        );
        assert!(guest_order.decisions.is_empty());
    }

    #[test]
    fn order_without_customer_or_email_has_no_contact() {
        let out = resolve_purchase(
            &Namespace::default(),
            &IdentitySnapshot::default(),
            None,
            None,
            || guest(1),
        );
        assert_eq!(out.resolution, Resolution::NoContact);
    }
}

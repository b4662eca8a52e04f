//! Which Ometria listing a customer uses, under Ometria's post-2024 rule:
//! two contacts cannot share an identifier, and the first contact to carry
//! one keeps it (shared/reference/ometria.md §2b).
//!
//! A guest who later opens an account already has a listing that owns their
//! email. A second listing for the account would get the customer id but
//! not the email, leaving two people in Ometria. So the account *adopts*
//! the guest's listing: the same `shopify_guests` id, now also carrying
//! `customer_id`, which no contact owns yet. The choice is made once, the
//! first time the customer is seen, and never changes (a listing id is how
//! Ometria finds the contact). Why adoption rather than `merge-profile`:
//! `docs/identity.md`.

use super::{
    ContactRef, GuestId, GuestRecord, IdentityDecision, IdentityOutcome, IdentitySnapshot,
    Namespace, Resolution, link_guest,
};
use crate::shopify::ShopifyId;

/// The listing a customer's contact records go to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum CustomerListing {
    /// `shopify_customers/<namespace><customer id>`.
    #[default]
    Own,
    /// The listing of the guest whose email the customer had when first
    /// seen: `shopify_guests/<namespace><guest id>`.
    Guest(GuestId),
}

/// The customer's listing, and the decision that records it when this is
/// the customer's first event. A guest is adopted only if it is a real
/// listing (not a customer's own email claim) and nobody's yet.
fn listing_for(
    snapshot: &IdentitySnapshot,
    customer_id: ShopifyId,
) -> (CustomerListing, Vec<IdentityDecision>) {
    if let Some(listing) = &snapshot.listing {
        return (listing.clone(), Vec::new());
    }
    let listing = match &snapshot.guest {
        Some(GuestRecord {
            guest_id,
            linked_customer: None,
            claim: false,
            ..
        }) => CustomerListing::Guest(guest_id.clone()),
        _ => CustomerListing::Own,
    };
    let decision = IdentityDecision::SetListing {
        customer_id,
        listing: listing.clone(),
    };
    (listing, vec![decision])
}

/// The `customer_id` of a customer this outcome links a guest listing to
/// while the customer keeps another listing; `None` otherwise.
///
/// That happens when the customer was first seen without the guest's email
/// (its own listing was chosen then) or later changed its email to one a
/// guest used. The guest's listing owns the email in Ometria, so the
/// customer's listing cannot take it by a push: the person stays two
/// contacts until Ometria merges the guest into the customer (merge-profile
/// by email, survivor by this customer id). A customer's own email claim has
/// no listing and needs no merge.
pub fn separate_guest(snapshot: &IdentitySnapshot, outcome: &IdentityOutcome) -> Option<String> {
    let guest = snapshot.guest.as_ref().filter(|g| !g.claim)?;
    let linked = outcome.decisions.iter().any(|d| {
        matches!(d, IdentityDecision::LinkGuestToCustomer { guest_id, .. } if *guest_id == guest.guest_id)
    });
    let Resolution::Contact(contact) = &outcome.resolution else {
        return None;
    };
    let adopted = contact.listing == CustomerListing::Guest(guest.guest_id.clone());
    (linked && !adopted)
        .then(|| contact.customer_id())
        .flatten()
}

/// A live customer: its listing (chosen now if this is its first event)
/// and the link of a guest who used its email.
pub(super) fn active_customer(
    namespace: &Namespace,
    snapshot: &IdentitySnapshot,
    customer_id: ShopifyId,
) -> (Resolution, Vec<IdentityDecision>) {
    let (listing, mut decisions) = listing_for(snapshot, customer_id);
    decisions.extend(link_guest(snapshot, customer_id));
    let contact = ContactRef::customer_on(namespace, customer_id, listing);
    (Resolution::Contact(contact), decisions)
}

/// A customer whose listing is not chosen here (merged-away or deleted
/// customers): the one recorded, else its own.
pub(super) fn known_listing(
    namespace: &Namespace,
    snapshot: &IdentitySnapshot,
    id: ShopifyId,
) -> ContactRef {
    ContactRef::customer_on(namespace, id, snapshot.listing.clone().unwrap_or_default())
}

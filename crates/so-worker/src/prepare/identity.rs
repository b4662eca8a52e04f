//! Identity: which Ometria contact an event is about (a customer, a guest
//! by email, or nobody when suppressed), applying the identity rules'
//! decisions to the store.

use so_domain::ReasonCode;
use so_domain::identity::{
    self, ContactRef, ContactSubject, CustomerListing, IdentityDecision, IdentityOutcome,
    IdentitySnapshot, NormalisedEmail, Resolution,
};
use so_domain::shopify::ShopifyId;

use super::{Ctx, Preparer};
use crate::outcome::Failure;

impl Preparer {
    /// The identity snapshot, reused within the batch until identity changes.
    pub(super) async fn snapshot(
        &self,
        cx: &mut Ctx<'_>,
        customer: Option<ShopifyId>,
        email: Option<&NormalisedEmail>,
    ) -> Result<IdentitySnapshot, Failure> {
        let key = (
            cx.shop.clone(),
            customer,
            email.map(|e| e.as_str().to_owned()),
        );
        if let Some(s) = cx.cache.snapshot(&key) {
            return Ok(s.clone());
        }
        let s = self
            .store
            .identity_snapshot(cx.shop, customer, email)
            .await?;
        cx.cache.remember_snapshot(key, s.clone());
        Ok(s)
    }

    /// Identity of a customer-keyed event; `None` when suppressed.
    pub(super) async fn customer_contact(
        &self,
        cx: &mut Ctx<'_>,
        id: ShopifyId,
        email: Option<&str>,
    ) -> Result<Option<ContactRef>, Failure> {
        let email = email.and_then(identity::normalise_email);
        let mut snapshot = self.snapshot(cx, Some(id), email.as_ref()).await?;
        // Only a live customer claims its email; a redacted person's email
        // is never remembered again.
        let may_claim =
            snapshot.customer == identity::CustomerStatus::Active && !snapshot.email_suppressed;
        if let (Some(email), None, true) = (&email, &snapshot.guest, may_claim) {
            // Claim the email for this customer (a guest row linked to it,
            // with no listing of its own), so a later guest checkout with the
            // same email resolves to the account instead of starting a second
            // person.
            let candidate = so_store::Store::new_guest_id();
            self.store
                .claim_email(cx.shop, email, &candidate, id)
                .await?;
            cx.cache.forget_email(cx.shop, email.as_str());
            snapshot = self.snapshot(cx, Some(id), Some(email)).await?;
        }
        // Another event may choose this customer's listing at the same
        // moment; the store keeps the first, the loser decides again.
        for _ in 0..3 {
            let outcome = identity::resolve_customer(&cx.ns, &snapshot, id);
            self.merge_separate_guest(cx, &snapshot, &outcome, email.as_ref())
                .await?;
            if let Some(contact) = self.apply(cx, outcome).await? {
                cx.contact.clone_from(&contact);
                return Ok(contact);
            }
            snapshot = self.snapshot(cx, Some(id), email.as_ref()).await?;
        }
        Err(Failure::retry(
            ReasonCode::StoreUnavailable,
            "identity kept changing under concurrent updates",
        ))
    }

    /// Identity of an order or checkout: customer, else guest by email.
    pub(super) async fn purchase_contact(
        &self,
        cx: &mut Ctx<'_>,
        customer: Option<ShopifyId>,
        email: Option<&str>,
    ) -> Result<Option<ContactRef>, Failure> {
        let email = email.and_then(identity::normalise_email);
        // Another worker may remember a guest for this email at the same
        // moment; the store keeps one and tells the loser, who decides again.
        for _ in 0..3 {
            let snapshot = self.snapshot(cx, customer, email.as_ref()).await?;
            let outcome = identity::resolve_purchase(
                &cx.ns,
                &snapshot,
                customer,
                email.as_ref(),
                so_store::Store::new_guest_id,
            );
            self.merge_separate_guest(cx, &snapshot, &outcome, email.as_ref())
                .await?;
            if let Some(contact) = self.apply(cx, outcome).await? {
                cx.contact.clone_from(&contact);
                return Ok(contact);
            }
        }
        Err(Failure::retry(
            ReasonCode::StoreUnavailable,
            "identity kept changing under concurrent updates",
        ))
    }

    /// A guest listing about to be linked to a customer that keeps its own
    /// listing holds the email in Ometria (post-2024 rule): asks Ometria to
    /// merge it into the customer before the link is stored. A busy lane or
    /// a failure retries the whole event through the broker, and since the
    /// link is not stored yet, the retry asks again. Ometria runs the merge
    /// as a job; once done, the email is free and the customer's next push
    /// carries it (this event's push, if the job was quick).
    async fn merge_separate_guest(
        &self,
        cx: &Ctx<'_>,
        snapshot: &IdentitySnapshot,
        outcome: &IdentityOutcome,
        email: Option<&NormalisedEmail>,
    ) -> Result<(), Failure> {
        let (Some(survivor), Some(email)) = (identity::separate_guest(snapshot, outcome), email)
        else {
            return Ok(());
        };
        super::privacy::merge_outcome(
            cx.account
                .client
                .merge_email_into_customer(&survivor, email.as_str())
                .await,
        )
    }

    /// Applies identity decisions. `Ok(None)`: lost a race, decide again.
    ///
    /// A first-seen customer's choice of its own listing (most first events
    /// make one) is not written here but deferred to the batch, which
    /// stores all such choices in one transaction before it pushes; an
    /// event that uses a deferred choice says so in its changes, so that it
    /// is retried should another event have chosen differently.
    pub(super) async fn apply(
        &self,
        cx: &mut Ctx<'_>,
        outcome: IdentityOutcome,
    ) -> Result<Option<Option<ContactRef>>, Failure> {
        match outcome.decisions.as_slice() {
            [] => {}
            [
                IdentityDecision::SetListing {
                    customer_id,
                    listing: CustomerListing::Own,
                },
            ] => cx
                .cache
                .defer_listing(cx.shop, *customer_id, CustomerListing::Own),
            decisions => {
                let applied = self.store.apply_identity(cx.shop, decisions).await?;
                cx.cache.forget_snapshots_after(cx.shop, decisions);
                if let so_store::IdentityApplied::GuestTaken { .. }
                | so_store::IdentityApplied::ListingTaken = applied
                {
                    return Ok(None);
                }
            }
        }
        Ok(Some(match outcome.resolution {
            Resolution::Contact(c) => {
                if let ContactSubject::Customer(id) = c.subject()
                    && cx.cache.listing_is_deferred(cx.shop, *id)
                {
                    cx.changes.deferred_listings.push((cx.shop.clone(), *id));
                }
                Some(c)
            }
            Resolution::Suppressed(_) | Resolution::NoContact => None,
        }))
    }

    /// The Ometria contact ids of a person: the customer's and the guest's
    /// that holds their email.
    pub(super) async fn contacts_of(
        &self,
        cx: &Ctx<'_>,
        customer: Option<ShopifyId>,
        email: Option<&NormalisedEmail>,
    ) -> Result<Vec<String>, Failure> {
        let mut contacts = Vec::new();
        if let Some(id) = customer {
            // Its own listing id, and the guest listing it adopted, if any.
            contacts.push(ContactRef::customer(&cx.ns, id).ometria_id());
            let snapshot = self
                .store
                .identity_snapshot(cx.shop, Some(id), None)
                .await?;
            if let Some(listing) = snapshot.listing {
                contacts.push(ContactRef::customer_on(&cx.ns, id, listing).ometria_id());
            }
        }
        if let Some(e) = email
            && let Some(g) = self.store.guest_for_email(cx.shop, e).await?
        {
            contacts.push(ContactRef::guest(&cx.ns, g).ometria_id());
        }
        contacts.sort();
        contacts.dedup();
        Ok(contacts)
    }
}

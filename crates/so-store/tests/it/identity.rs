use so_domain::ShopifyId;
use so_domain::identity::{
    ContactRef, CustomerListing, CustomerStatus, IdentityDecision, Namespace, Resolution,
    SuppressReason, resolve_customer, resolve_purchase,
};
use so_domain::mapping::TagSet;
use so_store::{Commit, CommitOutcome, IdentityApplied, Store};

use crate::support::*;

on_both_backends!(
    a_guest_who_opens_an_account_is_linked_and_later_orders_go_to_the_customer,
    a_link_is_set_once_and_never_to_a_deleted_customer,
    a_merge_redirects_and_repoints_links_and_older_redirects,
    a_delete_tombstones_unlinks_guests_and_keeps_a_redirect,
    a_redaction_wins_and_erases_the_persons_guest_rows_and_tags,
    a_customers_email_claim_is_linked_at_once_and_never_adopted,
    a_listing_is_chosen_once_even_by_racing_events,
    a_batch_of_listing_choices_reports_the_ones_taken_before,
    plain_guest_emails_from_before_are_rewritten_to_keyed_fingerprints,
    customers_known_before_version_9_keep_their_own_listing,
);

const KEPT: ShopifyId = ShopifyId::new(42);
const MERGED: ShopifyId = ShopifyId::new(77);

async fn status(store: &Store, id: ShopifyId) -> CustomerStatus {
    store
        .identity_snapshot(&shop(), Some(id), None)
        .await
        .unwrap()
        .customer
}

async fn apply(store: &Store, decisions: &[IdentityDecision]) {
    let applied = store.apply_identity(&shop(), decisions).await.unwrap();
    assert_eq!(applied, IdentityApplied::Applied);
}

async fn remember(store: &Store, raw_email: &str) -> so_domain::identity::GuestId {
    let guest_id = Store::new_guest_id();
    let decision = IdentityDecision::RememberGuest {
        email: email(raw_email),
        guest_id: guest_id.clone(),
    };
    apply(store, &[decision]).await;
    guest_id
}

async fn a_guest_who_opens_an_account_is_linked_and_later_orders_go_to_the_customer(ctx: Ctx) {
    let store = &ctx.store;
    let ns = Namespace::default();
    let jo = email("Jo@Example.com");

    let empty = store
        .identity_snapshot(&shop(), None, Some(&jo))
        .await
        .unwrap();
    let order = resolve_purchase(&ns, &empty, None, Some(&jo), Store::new_guest_id);
    apply(store, &order.decisions).await;
    let guest_snapshot = store
        .identity_snapshot(&shop(), Some(KEPT), Some(&jo))
        .await
        .unwrap();
    let account = resolve_customer(&ns, &guest_snapshot, KEPT);
    apply(store, &account.decisions).await;
    let guest = store.guest_for_email(&shop(), &jo).await.unwrap().unwrap();
    // The account adopted the guest's listing, which owns the email in Ometria.
    let adopted = ContactRef::customer_on(&ns, KEPT, CustomerListing::Guest(guest.clone()));
    assert_eq!(account.resolution, Resolution::Contact(adopted.clone()));
    // Chosen once: the account's next event (no email) uses it too.
    let again = store
        .identity_snapshot(&shop(), Some(KEPT), None)
        .await
        .unwrap();
    assert_eq!(again.listing, Some(CustomerListing::Guest(guest.clone())));
    let repeat = resolve_customer(&ns, &again, KEPT);
    assert_eq!(repeat.resolution, Resolution::Contact(adopted.clone()));
    assert!(repeat.decisions.is_empty());

    let later = store
        .identity_snapshot(&shop(), None, Some(&jo))
        .await
        .unwrap();
    let next_order = resolve_purchase(&ns, &later, None, Some(&jo), Store::new_guest_id);
    assert_eq!(next_order.resolution, Resolution::Contact(adopted));
    assert!(next_order.decisions.is_empty());
    let Resolution::Contact(first) = order.resolution else {
        panic!("the first order has a guest contact");
    };
    assert_eq!(first, ContactRef::guest(&ns, guest));
    assert_eq!(
        store.guest_for_email(&other_shop(), &jo).await.unwrap(),
        None
    );
}

async fn a_link_is_set_once_and_never_to_a_deleted_customer(ctx: Ctx) {
    let store = &ctx.store;
    let first = remember(store, "a@example.com").await;
    let second = remember(store, "b@example.com").await;
    apply(
        store,
        &[IdentityDecision::MarkCustomerDeleted {
            customer_id: MERGED,
        }],
    )
    .await;

    apply(
        store,
        &[
            IdentityDecision::LinkGuestToCustomer {
                guest_id: first.clone(),
                customer_id: KEPT,
            },
            IdentityDecision::LinkGuestToCustomer {
                guest_id: first,
                customer_id: BIG,
            },
            IdentityDecision::LinkGuestToCustomer {
                guest_id: second,
                customer_id: MERGED,
            },
        ],
    )
    .await;

    let a = store
        .identity_snapshot(&shop(), None, Some(&email("a@example.com")))
        .await;
    assert_eq!(a.unwrap().guest.unwrap().linked_customer, Some(KEPT));
    let b = store
        .identity_snapshot(&shop(), None, Some(&email("b@example.com")))
        .await;
    assert_eq!(b.unwrap().guest.unwrap().linked_customer, None);
}

async fn a_merge_redirects_and_repoints_links_and_older_redirects(ctx: Ctx) {
    let store = &ctx.store;
    let older = ShopifyId::new(55);
    let later = ShopifyId::new(88);
    let guest = remember(store, "jo@example.com").await;
    apply(
        store,
        &[
            IdentityDecision::LinkGuestToCustomer {
                guest_id: guest,
                customer_id: MERGED,
            },
            IdentityDecision::RedirectCustomer {
                from: older,
                to: MERGED,
            },
        ],
    )
    .await;

    apply(
        store,
        &[IdentityDecision::RedirectCustomer {
            from: MERGED,
            to: KEPT,
        }],
    )
    .await;
    // A merge into an id that was itself merged away lands on the survivor.
    apply(
        store,
        &[IdentityDecision::RedirectCustomer {
            from: later,
            to: MERGED,
        }],
    )
    .await;

    assert_eq!(
        status(store, MERGED).await,
        CustomerStatus::MergedInto(KEPT)
    );
    assert_eq!(status(store, older).await, CustomerStatus::MergedInto(KEPT));
    assert_eq!(status(store, later).await, CustomerStatus::MergedInto(KEPT));
    assert_eq!(status(store, KEPT).await, CustomerStatus::Active);
    let snap = store
        .identity_snapshot(&shop(), None, Some(&email("jo@example.com")))
        .await;
    assert_eq!(snap.unwrap().guest.unwrap().linked_customer, Some(KEPT));
    // Late news about the merged-away customer is suppressed by the rules.
    let late = resolve_customer(
        &Namespace::default(),
        &store
            .identity_snapshot(&shop(), Some(MERGED), None)
            .await
            .unwrap(),
        MERGED,
    );
    assert_eq!(
        late.resolution,
        Resolution::Suppressed(SuppressReason::MergedInto(KEPT))
    );
}

async fn a_delete_tombstones_unlinks_guests_and_keeps_a_redirect(ctx: Ctx) {
    let store = &ctx.store;
    let guest = remember(store, "jo@example.com").await;
    apply(
        store,
        &[
            IdentityDecision::LinkGuestToCustomer {
                guest_id: guest.clone(),
                customer_id: KEPT,
            },
            IdentityDecision::RedirectCustomer {
                from: MERGED,
                to: BIG,
            },
        ],
    )
    .await;

    apply(
        store,
        &[
            IdentityDecision::MarkCustomerDeleted { customer_id: KEPT },
            IdentityDecision::MarkCustomerDeleted {
                customer_id: MERGED,
            },
        ],
    )
    .await;

    assert_eq!(status(store, KEPT).await, CustomerStatus::Deleted);
    assert_eq!(status(store, MERGED).await, CustomerStatus::MergedInto(BIG));
    let snap = store
        .identity_snapshot(&shop(), None, Some(&email("jo@example.com")))
        .await;
    let record = snap.unwrap().guest.unwrap();
    assert_eq!((record.guest_id, record.linked_customer), (guest, None));
}

async fn a_redaction_wins_and_erases_the_persons_guest_rows_and_tags(ctx: Ctx) {
    let store = &ctx.store;
    let jo = email("jo@example.com");
    let guest = remember(store, "jo@example.com").await;
    apply(
        store,
        &[
            IdentityDecision::LinkGuestToCustomer {
                guest_id: guest,
                customer_id: KEPT,
            },
            IdentityDecision::RedirectCustomer {
                from: MERGED,
                to: KEPT,
            },
        ],
    )
    .await;
    let tags = Commit {
        tags: vec![(shop(), KEPT, TagSet::parse_csv("VIP"))],
        ..Commit::default()
    };
    assert_eq!(store.commit(&tags).await.unwrap(), CommitOutcome::Committed);

    apply(
        store,
        &[IdentityDecision::MarkCustomerRedacted { customer_id: KEPT }],
    )
    .await;
    apply(
        store,
        &[
            IdentityDecision::MarkCustomerDeleted { customer_id: KEPT },
            IdentityDecision::RedirectCustomer {
                from: KEPT,
                to: BIG,
            },
        ],
    )
    .await;

    assert_eq!(status(store, KEPT).await, CustomerStatus::Redacted);
    assert_eq!(
        status(store, MERGED).await,
        CustomerStatus::Redacted,
        "merged into the erased person"
    );
    assert_eq!(store.guest_for_email(&shop(), &jo).await.unwrap(), None);
    assert!(store.customer_tags(&shop(), KEPT).await.unwrap().is_empty());
    let order = resolve_purchase(
        &Namespace::default(),
        &store
            .identity_snapshot(&shop(), Some(KEPT), Some(&jo))
            .await
            .unwrap(),
        Some(KEPT),
        Some(&jo),
        Store::new_guest_id,
    );
    assert_eq!(
        order.resolution,
        Resolution::Suppressed(SuppressReason::Redacted)
    );
}

async fn a_customers_email_claim_is_linked_at_once_and_never_adopted(ctx: Ctx) {
    let store = &ctx.store;
    let ns = Namespace::default();
    let jo = email("jo@example.com");
    let claimed = store
        .claim_email(&shop(), &jo, &Store::new_guest_id(), KEPT)
        .await
        .unwrap();
    let snap = store
        .identity_snapshot(&shop(), Some(KEPT), Some(&jo))
        .await
        .unwrap();
    let guest = snap.guest.clone().unwrap();
    assert_eq!(
        (guest.guest_id, guest.claim, guest.linked_customer),
        (claimed, true, Some(KEPT))
    );
    let out = resolve_customer(&ns, &snap, KEPT);
    assert_eq!(
        out.resolution,
        Resolution::Contact(ContactRef::customer(&ns, KEPT))
    );
    apply(store, &out.decisions).await;
    // A later guest purchase with that email is the customer's, on its own listing.
    let later = store
        .identity_snapshot(&shop(), None, Some(&jo))
        .await
        .unwrap();
    let order = resolve_purchase(&ns, &later, None, Some(&jo), Store::new_guest_id);
    assert_eq!(
        order.resolution,
        Resolution::Contact(ContactRef::customer(&ns, KEPT))
    );
}

async fn a_listing_is_chosen_once_even_by_racing_events(ctx: Ctx) {
    let store = &ctx.store;
    let guest = remember(store, "jo@example.com").await;
    apply(
        store,
        &[IdentityDecision::SetListing {
            customer_id: KEPT,
            listing: CustomerListing::Guest(guest.clone()),
        }],
    )
    .await;
    // A redelivery choosing the same is fine; another choice lost the race.
    apply(
        store,
        &[IdentityDecision::SetListing {
            customer_id: KEPT,
            listing: CustomerListing::Guest(guest.clone()),
        }],
    )
    .await;
    let lost = store
        .apply_identity(
            &shop(),
            &[
                IdentityDecision::LinkGuestToCustomer {
                    guest_id: guest.clone(),
                    customer_id: KEPT,
                },
                IdentityDecision::SetListing {
                    customer_id: KEPT,
                    listing: CustomerListing::Own,
                },
            ],
        )
        .await
        .unwrap();
    assert_eq!(lost, IdentityApplied::ListingTaken);
    let snap = store
        .identity_snapshot(&shop(), Some(KEPT), Some(&email("jo@example.com")))
        .await
        .unwrap();
    assert_eq!(snap.listing, Some(CustomerListing::Guest(guest)));
    assert_eq!(
        snap.guest.unwrap().linked_customer,
        None,
        "nothing of the losing batch was written"
    );
}

async fn plain_guest_emails_from_before_are_rewritten_to_keyed_fingerprints(ctx: Ctx) {
    let store = &ctx.store;
    // Rows as version 8 wrote them: the normalised address itself.
    let raw = ctx.another_worker().await;
    let before = Store::new_guest_id();
    raw.claim_email(
        &shop(),
        &email("x@example.com"),
        &Store::new_guest_id(),
        KEPT,
    )
    .await
    .unwrap();
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&ctx.url)
        .await
        .unwrap();
    sqlx::query("INSERT INTO guest (shop, email, guest_id) VALUES ($1, $2, $3)")
        .bind(shop().as_str())
        .bind("jo@example.com")
        .bind(before.as_str())
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(store.fingerprint_guest_emails().await.unwrap(), 1);
    assert_eq!(store.fingerprint_guest_emails().await.unwrap(), 0);
    let emails: Vec<String> = sqlx::query_scalar("SELECT email FROM guest")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert_eq!(emails.len(), 2);
    assert!(
        emails.iter().all(|e| e.len() == 64 && !e.contains('@')),
        "{emails:?}"
    );
    assert_eq!(
        store
            .guest_for_email(&shop(), &email("Jo@Example.com"))
            .await
            .unwrap(),
        Some(before)
    );
    // Another key finds nothing: the fingerprint is keyed.
    let other = Store::connect(&ctx.url, 1)
        .await
        .unwrap()
        .with_email_key(so_store::EmailKey::new(b"another-key-entirely").unwrap());
    assert_eq!(
        other
            .guest_for_email(&shop(), &email("jo@example.com"))
            .await
            .unwrap(),
        None
    );
    raw.close().await;
    other.close().await;
}

/// Schema version 9 on a store that already knew customers: each keeps its own listing, so a
/// later event never makes it adopt a guest listing under a new id.
async fn customers_known_before_version_9_keep_their_own_listing(ctx: Ctx) {
    let store = &ctx.store;
    let jo = email("jo@example.com");
    let guest = remember(store, "jo@example.com").await;
    // Back to version 8, with a customer known by a watermark and one by its tags.
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&ctx.url)
        .await
        .unwrap();
    for sql in [
        "DELETE FROM _sqlx_migrations WHERE version = 9",
        "DROP TABLE customer_listing",
        "DROP TABLE contact_properties",
        "ALTER TABLE guest DROP COLUMN claim",
    ] {
        sqlx::query(sql).execute(&mut conn).await.unwrap();
    }
    sqlx::query(
        "INSERT INTO watermark (shop, kind, entity_id, version, webhook_id) \
         VALUES ($1, 'customer', '42', 1, 'wh-1')",
    )
    .bind(shop().as_str())
    .execute(&mut conn)
    .await
    .unwrap();
    sqlx::query("INSERT INTO customer_tags (shop, customer_id, tags) VALUES ($1, 77, '[]')")
        .bind(shop().as_str())
        .execute(&mut conn)
        .await
        .unwrap();
    let upgraded = Store::connect(&ctx.url, 2)
        .await
        .unwrap()
        .with_email_key(email_key());
    for id in [KEPT, MERGED] {
        let snap = upgraded
            .identity_snapshot(&shop(), Some(id), Some(&jo))
            .await
            .unwrap();
        assert_eq!(snap.listing, Some(CustomerListing::Own), "{id:?}");
        let out = resolve_customer(&Namespace::default(), &snap, id);
        assert_eq!(
            out.resolution,
            Resolution::Contact(ContactRef::customer(&Namespace::default(), id))
        );
    }
    // The guest row survived the upgrade as a real guest listing.
    let snap = upgraded
        .identity_snapshot(&shop(), None, Some(&jo))
        .await
        .unwrap();
    let g = snap.guest.unwrap();
    assert_eq!((g.guest_id, g.claim), (guest, false));
    upgraded.close().await;
}

/// The worker stores a batch's own-listing choices together: those another event had already
/// chosen differently come back, the rest are stored, and repeating a choice is not a loss.
async fn a_batch_of_listing_choices_reports_the_ones_taken_before(ctx: Ctx) {
    let store = &ctx.store;
    let guest = remember(store, "jo@example.com").await;
    apply(
        store,
        &[IdentityDecision::SetListing {
            customer_id: KEPT,
            listing: CustomerListing::Guest(guest.clone()),
        }],
    )
    .await;
    let choices = [
        (shop(), MERGED, CustomerListing::Own),
        (shop(), KEPT, CustomerListing::Own),
        (shop(), MERGED, CustomerListing::Own),
    ];
    let lost = store.set_listings(&choices).await.unwrap();
    assert_eq!(
        lost,
        vec![(shop(), KEPT)],
        "only the customer chosen before lost"
    );
    let listing = |id| async move {
        store
            .identity_snapshot(&shop(), Some(id), None)
            .await
            .unwrap()
            .listing
    };
    assert_eq!(listing(MERGED).await, Some(CustomerListing::Own));
    assert_eq!(listing(KEPT).await, Some(CustomerListing::Guest(guest)));
    assert!(store.set_listings(&choices[..1]).await.unwrap().is_empty());
}

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
            linked_listing: None,
            claim: false,
        }),
        ..Default::default()
    };
    let second = resolve_purchase(&ns, &known, None, Some(&e), || guest(2));
    assert_eq!(second.resolution, first.resolution);
    assert!(second.decisions.is_empty());
}

#[test]
fn guest_who_creates_an_account_adopts_the_guest_listing_and_later_guest_orders_follow() {
    let ns = Namespace::default();
    let snap = IdentitySnapshot {
        guest: Some(GuestRecord {
            guest_id: guest(1),
            linked_customer: None,
            linked_listing: None,
            claim: false,
        }),
        ..Default::default()
    };
    let adopted = ContactRef::customer_on(&ns, BIG, CustomerListing::Guest(guest(1)));
    let created = resolve_customer(&ns, &snap, BIG);
    assert_eq!(created.resolution, Resolution::Contact(adopted.clone()));
    assert_eq!(
        separate_guest(&snap, &created),
        None,
        "adopted: nothing to merge"
    );
    // The guest's listing, which owns the email, now also carries the
    // customer id: one contact in Ometria.
    assert_eq!(adopted.ometria_id(), guest(1).as_str());
    assert_eq!(adopted.collection(), ContactCollection::Guests);
    assert_eq!(adopted.customer_id(), Some(BIG.to_string()));
    assert_eq!(
        created.decisions,
        vec![
            IdentityDecision::SetListing {
                customer_id: BIG,
                listing: CustomerListing::Guest(guest(1)),
            },
            IdentityDecision::LinkGuestToCustomer {
                guest_id: guest(1),
                customer_id: BIG
            }
        ]
    );
    let linked = IdentitySnapshot {
        guest: Some(GuestRecord {
            guest_id: guest(1),
            linked_customer: Some(BIG),
            linked_listing: Some(CustomerListing::Guest(guest(1))),
            claim: false,
        }),
        listing: Some(CustomerListing::Guest(guest(1))),
        ..Default::default()
    };
    let later = resolve_purchase(&ns, &linked, None, Some(&email("g@example.com")), || {
        guest(9)
    });
    assert_eq!(later.resolution, Resolution::Contact(adopted.clone()));
    let account_order = resolve_purchase(&ns, &linked, Some(BIG), None, || guest(9));
    assert_eq!(account_order.resolution, Resolution::Contact(adopted));
    assert!(
        resolve_customer(&ns, &linked, BIG).decisions.is_empty(),
        "a link and a listing are set once"
    );
}

#[test]
fn a_customer_keeps_the_listing_it_first_had_and_never_adopts_an_email_claim() {
    let ns = Namespace::default();
    let unlinked = |claim| GuestRecord {
        guest_id: guest(1),
        linked_customer: None,
        linked_listing: None,
        claim,
    };
    // Seen before on its own listing: a guest found later is linked, not
    // adopted (the listing id cannot change).
    let known = IdentitySnapshot {
        guest: Some(unlinked(false)),
        listing: Some(CustomerListing::Own),
        ..Default::default()
    };
    let out = resolve_customer(&ns, &known, BIG);
    assert_eq!(
        out.resolution,
        Resolution::Contact(ContactRef::customer(&ns, BIG))
    );
    assert!(
        !out.decisions
            .iter()
            .any(|d| matches!(d, IdentityDecision::SetListing { .. }))
    );
    // The guest's listing keeps the email: Ometria must merge it in.
    assert_eq!(separate_guest(&known, &out), Some(BIG.to_string()));
    // A claim row has no listing in Ometria to adopt.
    let claimed = IdentitySnapshot {
        guest: Some(unlinked(true)),
        ..Default::default()
    };
    let out = resolve_customer(&ns, &claimed, BIG);
    assert_eq!(
        out.resolution,
        Resolution::Contact(ContactRef::customer(&ns, BIG))
    );
    assert_eq!(
        out.decisions[0],
        IdentityDecision::SetListing {
            customer_id: BIG,
            listing: CustomerListing::Own
        }
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
        listing: None,
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
        listing: None,
    };
    assert_eq!(
        delete_customer(&ns, &deleted, BIG).resolution,
        Resolution::Suppressed(SuppressReason::Deleted)
    );
    let redacted = IdentitySnapshot {
        customer: CustomerStatus::Redacted,
        guest: None,
        email_suppressed: false,
        listing: None,
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

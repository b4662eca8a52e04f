//! Customer lookups and the consent write-back.

use so_fake_shopify::{Customer as Seed, MarketingState, OptInLevel};
use so_shopify_admin::{
    AdminError, ConsentTarget, EmailConsentInput, EmailMarketingState, MarketingOptInLevel,
};

use crate::support::{at, client, fake};

const ID: u64 = 7_000_000_000_000_000_123;
const NO_EMAIL: u64 = 7_000_000_000_000_000_456;

fn seed(shop: &so_fake_shopify::FakeShop) {
    shop.seed_customers([
        Seed::new(ID, Some("sub@example.com"), at(2024, 1, 1))
            .with_consent(MarketingState::Subscribed),
        Seed::new(NO_EMAIL, None, at(2024, 1, 1)),
    ]);
}

#[tokio::test]
async fn lookups_return_consent_and_none_for_unknown_customers() {
    let (fake, shop) = fake().await;
    seed(&shop);
    let client = client(&fake);
    let c = client.customer(ID).await.unwrap().unwrap();
    assert_eq!(c.id.id(), ID);
    assert_eq!(c.marketing_state(), Some(EmailMarketingState::Subscribed));
    assert_eq!(
        c.email_marketing_consent.unwrap().marketing_opt_in_level,
        Some(MarketingOptInLevel::SingleOptIn)
    );
    assert!(client.customer(ID + 1).await.unwrap().is_none());
    let nobody = client.customer(NO_EMAIL).await.unwrap().unwrap();
    assert_eq!(nobody.email_address(), None);
    assert_eq!(nobody.marketing_state(), None);
}

#[tokio::test]
async fn batch_lookups_keep_order_and_split_at_250() {
    let (fake, shop) = fake().await;
    let data = shop.seed_generated(300, 0, 0.5);
    let client = client(&fake);
    let mut ids: Vec<u64> = data.customers.iter().map(|c| c.id).collect();
    ids.insert(17, 42);
    ids.push(43);
    let found = client.customers_by_ids(&ids).await.unwrap();
    assert_eq!(found.len(), ids.len());
    for (id, c) in ids.iter().zip(&found) {
        match c {
            Some(c) => assert_eq!(c.id.id(), *id),
            None => assert!(*id == 42 || *id == 43, "{id} missing"),
        }
    }
    assert_eq!(found.iter().filter(|c| c.is_none()).count(), 2);
    let nodes_calls = shop
        .requests()
        .iter()
        .filter(|r| r.root_fields == ["nodes"])
        .count();
    assert_eq!(nodes_calls, 2);
    assert_eq!(shop.stats().throttled, 0);
}

#[tokio::test]
async fn unsubscribing_updates_shopify_and_is_recorded() {
    let (fake, shop) = fake().await;
    seed(&shop);
    let client = client(&fake);
    let when = at(2024, 6, 1);
    let consent = client
        .update_email_consent(ID, ConsentTarget::Unsubscribed, Some(when))
        .await
        .unwrap();
    assert_eq!(consent.marketing_state, EmailMarketingState::Unsubscribed);
    assert_eq!(consent.consent_updated_at, Some(when));

    let seeded = shop.customer(ID).unwrap();
    assert_eq!(seeded.marketing_state(), MarketingState::Unsubscribed);
    let writes = shop.consent_writes();
    assert_eq!(writes.len(), 1);
    assert_eq!(writes[0].customer_id, Some(ID));
    assert_eq!(writes[0].state.as_deref(), Some("UNSUBSCRIBED"));
    assert!(writes[0].applied());
    let hooks = shop.take_webhooks();
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0].topic, so_fake_shopify::CONSENT_TOPIC);
    assert_eq!(hooks[0].payload["customer_id"], serde_json::json!(ID));
    assert_eq!(
        hooks[0].payload["email_marketing_consent"]["state"],
        "unsubscribed"
    );
    // Subscribing sets an opt-in level.
    client
        .update_email_consent(ID, ConsentTarget::Subscribed, None)
        .await
        .unwrap();
    let seeded = shop.customer(ID).unwrap();
    assert_eq!(
        seeded.email_consent.unwrap().opt_in_level,
        Some(OptInLevel::SingleOptIn)
    );
}

fn user_errors(err: AdminError) -> Vec<(Vec<String>, String)> {
    match err {
        AdminError::UserErrors(errors) => errors
            .into_iter()
            .map(|e| (e.field.unwrap_or_default(), e.code.unwrap_or_default()))
            .collect(),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn refusals_come_back_as_typed_user_errors() {
    let (fake, shop) = fake().await;
    seed(&shop);
    let client = client(&fake);
    let err = client
        .update_email_consent(ID + 1, ConsentTarget::Unsubscribed, None)
        .await
        .unwrap_err();
    assert_eq!(
        user_errors(err),
        [(
            vec!["input".to_owned(), "customerId".to_owned()],
            "INVALID".to_owned()
        )]
    );
    let err = client
        .update_email_consent(NO_EMAIL, ConsentTarget::Unsubscribed, None)
        .await
        .unwrap_err();
    assert_eq!(user_errors(err)[0].1, "INVALID");
    for state in [
        EmailMarketingState::NotSubscribed,
        EmailMarketingState::Redacted,
        EmailMarketingState::Invalid,
    ] {
        let err = client
            .update_email_consent_with(&EmailConsentInput {
                customer_id: ID,
                marketing_state: state,
                opt_in_level: None,
                consent_updated_at: None,
            })
            .await
            .unwrap_err();
        let errors = user_errors(err);
        assert_eq!(errors[0].1, "INCLUSION", "{state:?}");
        assert_eq!(
            errors[0].0.last().map(String::as_str),
            Some("marketingState")
        );
    }
    // Nothing changed, every call recorded, no webhook.
    assert_eq!(
        shop.customer(ID).unwrap().marketing_state(),
        MarketingState::Subscribed
    );
    let writes = shop.consent_writes();
    assert_eq!(writes.len(), 5);
    assert!(writes.iter().all(|w| !w.applied()));
    assert!(shop.webhooks().is_empty());
}

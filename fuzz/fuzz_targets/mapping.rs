//! Mapping whatever decodes as an order, refund, customer, consent change
//! or product never panics, and every record it produces is a JSON object
//! with an id that carries no email address.
#![no_main]

use libfuzzer_sys::fuzz_target;
use so_domain::ShopDomain;
use so_domain::identity::{ContactRef, Namespace};
use so_domain::mapping::{self, LegacyParts, MappingContext};
use so_domain::ometria::PushRecord;
use so_domain::shopify::{ShopifyPayload, decode};

fn check(records: &[PushRecord]) {
    for r in records {
        assert!(!r.id.is_empty());
        assert!(
            !r.id.contains('@'),
            "an Ometria id holds an email: {}",
            r.id
        );
        let _json = serde_json::to_vec(&r.body).expect("records serialize");
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((topic, body)) = so_fuzz::split_topic(data) else {
        return;
    };
    let Ok(payload) = decode(topic, body) else {
        return;
    };
    let shop = ShopDomain::parse("fuzz.myshopify.com").expect("valid shop");
    let ns = Namespace::parse("uk:").unwrap_or_default();
    let ctx = MappingContext::new(&shop, ns.clone(), chrono::Utc::now());
    match payload {
        ShopifyPayload::Order(order) => {
            let contact = order
                .customer
                .as_ref()
                .map(|c| ContactRef::customer(&ns, c.id));
            if let Ok(m) = mapping::map_order(&ctx, &order, contact.as_ref(), None) {
                check(&m.records);
            }
        }
        ShopifyPayload::Customer(c) => {
            let contact = ContactRef::customer(&ns, c.id);
            if let Ok(records) = mapping::map_customer(&ctx, &contact, &c, LegacyParts::ALL) {
                check(&records);
            }
        }
        ShopifyPayload::EmailConsent(u) => {
            let contact = ContactRef::customer(&ns, u.customer_id);
            if let Ok(records) = mapping::map_email_consent(&ctx, &contact, &u) {
                check(&records);
            }
        }
        ShopifyPayload::Product(p) => {
            if let Ok(records) = mapping::map_product(&ctx, &p) {
                check(&records);
            }
        }
        _ => {}
    }
});

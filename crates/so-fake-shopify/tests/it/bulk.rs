//! Bulk operations over HTTP: lifecycle and the JSONL format.

use serde_json::{Value, json};
use so_fake_shopify::{BulkStatus, FakeShopify, GenerateSpec, generate};

use crate::support::{gql, http};

const RUN: &str = "mutation($q: String!) { bulkOperationRunQuery(query: $q, groupObjects: true) { bulkOperation { id status } userErrors { field message code } } }";
const POLL: &str =
    "query($id: ID!) { bulkOperation(id: $id) { id status objectCount rootObjectCount url } }";

#[tokio::test]
async fn operations_complete_after_polls_and_serve_jsonl() {
    let fake = FakeShopify::start().await;
    let shop = fake.default_shop();
    let data = generate(&GenerateSpec::new(5, 0, 0.5));
    shop.seed_dataset(&data);
    shop.set_bulk_timing(2, None);
    let q = "{ products { edges { node { id title variants { edges { node { id sku } } } } } } }";
    let r = gql(&fake, RUN, json!({"q": q})).await;
    let op = &r.body["data"]["bulkOperationRunQuery"]["bulkOperation"];
    assert_eq!(op["status"], "CREATED");
    let id = op["id"].as_str().unwrap().to_owned();
    let r = gql(&fake, POLL, json!({"id": id})).await;
    assert_eq!(r.body["data"]["bulkOperation"]["status"], "RUNNING");
    let r = gql(&fake, POLL, json!({"id": id})).await;
    let op = &r.body["data"]["bulkOperation"];
    assert_eq!(op["status"], "COMPLETED");
    let variants: usize = data.products.iter().map(|p| p.variants.len()).sum();
    assert_eq!(
        op["objectCount"],
        json!((data.products.len() + variants).to_string())
    );
    assert_eq!(
        op["rootObjectCount"],
        json!(data.products.len().to_string())
    );
    assert_eq!(shop.bulk_statuses(), [BulkStatus::Completed]);

    // The file is a signed-URL download: no token needed.
    let url = op["url"].as_str().unwrap();
    let text = http().get(url).send().await.unwrap().text().await.unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut parent: Option<String> = None;
    let mut children = 0;
    for l in &lines {
        match l.get("__parentId") {
            None => {
                assert!(l.get("variants").is_none(), "children are not inline: {l}");
                parent = l["id"].as_str().map(str::to_owned);
            }
            Some(p) => {
                assert_eq!(p.as_str(), parent.as_deref());
                assert!(
                    l["id"]
                        .as_str()
                        .unwrap()
                        .starts_with("gid://shopify/ProductVariant/")
                );
                children += 1;
            }
        }
    }
    assert_eq!(children, variants);
}

#[tokio::test]
async fn invalid_bulk_queries_get_user_errors() {
    let fake = FakeShopify::start().await;
    for q in [
        "{ shop { name } }",
        "{ orders { nodes { lineItems { nodes { id } } } } }",
        "{ customers { nodes { id }",
    ] {
        let r = gql(&fake, RUN, json!({"q": q})).await;
        let payload = &r.body["data"]["bulkOperationRunQuery"];
        assert_eq!(payload["bulkOperation"], Value::Null, "{q}");
        assert_eq!(payload["userErrors"][0]["code"], "INVALID", "{q}");
        assert_eq!(payload["userErrors"][0]["field"], json!(["query"]));
    }
    assert!(fake.default_shop().bulk_statuses().is_empty());
}

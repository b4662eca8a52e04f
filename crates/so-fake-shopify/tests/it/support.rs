//! Small HTTP helpers.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use so_fake_shopify::{ACCESS_TOKEN_HEADER, DEFAULT_TOKEN, FakeShopify};

pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Value,
}

pub(crate) fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

pub(crate) fn endpoint(fake: &FakeShopify, version: &str) -> String {
    format!("{}/admin/api/{version}/graphql.json", fake.base_url())
}

pub(crate) async fn send(url: &str, token: Option<&str>, query: &str, variables: Value) -> Reply {
    let mut req = http()
        .post(url)
        .json(&json!({"query": query, "variables": variables}));
    if let Some(t) = token {
        req = req.header(ACCESS_TOKEN_HEADER, t);
    }
    reply(req.send().await.unwrap()).await
}

pub(crate) async fn gql(fake: &FakeShopify, query: &str, variables: Value) -> Reply {
    send(
        &endpoint(fake, "2026-07"),
        Some(DEFAULT_TOKEN),
        query,
        variables,
    )
    .await
}

pub(crate) async fn reply(r: reqwest::Response) -> Reply {
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let bytes = r.bytes().await.unwrap();
    Reply {
        status,
        headers,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

pub(crate) fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 12, 0, 0).unwrap()
}

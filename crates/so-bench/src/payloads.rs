//! Realistic signed webhooks: Shopify's documented samples (orders, refunds,
//! customers, products, ...) with fresh ids so each request is distinct.

use std::path::PathBuf;

use anyhow::Context;
use bytes::Bytes;
use serde::Deserialize;

/// One pre-signed request body.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    pub(crate) topic: String,
    pub(crate) body: Bytes,
    pub(crate) signature: String,
}

#[derive(Deserialize)]
struct Entry {
    topic: String,
    file: String,
}

pub(crate) fn default_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/shopify")
}

/// `count` signed bodies cycling through the samples of supported entity
/// topics, each with a distinct top-level id where the sample has one.
pub(crate) fn prepare(
    dir: &std::path::Path,
    secret: &str,
    count: usize,
) -> anyhow::Result<Vec<Prepared>> {
    let index = std::fs::read(dir.join("index.json"))
        .with_context(|| format!("reading {}/index.json", dir.display()))?;
    let entries: Vec<Entry> = serde_json::from_slice(&index)?;
    let mut samples = Vec::new();
    for e in entries {
        // Payloads the benchmark mixes: the high-volume topics of a store.
        let wanted = [
            "orders/",
            "refunds/create",
            "customers/create",
            "customers/update",
            "products/update",
            "checkouts/update",
        ];
        if wanted.iter().any(|w| e.topic.starts_with(w))
            && e.topic != "orders/delete"
            && e.topic != "orders/edited"
        {
            let raw = std::fs::read(dir.join(&e.file))?;
            let value: serde_json::Value = serde_json::from_slice(&raw)?;
            samples.push((e.topic, value));
        }
    }
    anyhow::ensure!(!samples.is_empty(), "no samples found in {}", dir.display());
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let (topic, template) = &samples[i % samples.len()];
        let mut v = template.clone();
        if let Some(obj) = v.as_object_mut() {
            let id = 900_000_000_000_000_000_u64 + i as u64;
            if obj.contains_key("id") {
                obj.insert("id".into(), id.into());
            }
            if obj.contains_key("order_id") {
                obj.insert("order_id".into(), (id / 3).into());
            }
        }
        let body = Bytes::from(serde_json::to_vec(&v)?);
        let signature = so_shopify::sign(secret, &body);
        out.push(Prepared {
            topic: topic.clone(),
            body,
            signature,
        });
    }
    Ok(out)
}

pub(crate) fn mean_size(p: &[Prepared]) -> usize {
    if p.is_empty() {
        0
    } else {
        p.iter().map(|x| x.body.len()).sum::<usize>() / p.len()
    }
}

//! Shopify's documented sample payloads and the HMAC test vectors, read
//! from `shared/fixtures/shopify/` next to the repository.

use std::path::PathBuf;

use serde::Deserialize;

/// `shared/fixtures/shopify`, beside the checkout.
pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/shopify")
}

/// One documented sample: its topic and raw bytes.
#[derive(Debug, Clone)]
pub struct Sample {
    pub topic: String,
    pub file: String,
    pub body: Vec<u8>,
}

#[derive(Deserialize)]
struct IndexEntry {
    topic: String,
    file: String,
}

/// Every sample listed in `index.json`.
pub fn samples() -> Vec<Sample> {
    let dir = dir();
    let index = std::fs::read(dir.join("index.json"))
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
    let entries: Vec<IndexEntry> =
        serde_json::from_slice(&index).expect("index.json is a list of {topic, file}");
    entries
        .into_iter()
        .map(|e| {
            let body = std::fs::read(dir.join(&e.file))
                .unwrap_or_else(|err| panic!("reading {}: {err}", e.file));
            Sample {
                topic: e.topic,
                file: e.file,
                body,
            }
        })
        .collect()
}

/// One HMAC vector from `hmac-vectors.json`.
#[derive(Debug, Clone, Deserialize)]
pub struct HmacVector {
    pub source: String,
    pub key: String,
    pub body: String,
    pub expected_header_base64: Option<String>,
    pub must_not_equal: Option<String>,
}

#[derive(Deserialize)]
struct Vectors {
    vectors: Vec<HmacVector>,
}

pub fn hmac_vectors() -> Vec<HmacVector> {
    let raw =
        std::fs::read(dir().join("hmac-vectors.json")).expect("hmac-vectors.json is readable");
    serde_json::from_slice::<Vectors>(&raw)
        .expect("hmac-vectors.json parses")
        .vectors
}

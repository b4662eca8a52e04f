//! The compact forms the journal keeps, and what each weighs.
//!
//! - A record's field paths become a sorted set of 64-bit hashes (a shape),
//!   enough to answer "did it carry this path?"; records of one mapping
//!   usually share a shape, so the journal holds each shape once.
//! - An event's message body is kept LZ4-compressed (Shopify's JSON shrinks
//!   several times) and unpacked only to dead-letter it.
//!
//! Weights are estimates of the heap a value holds, erring high: the length
//! of each allocation plus [`ALLOCATION`] for the allocator's own header
//! and rounding, and the inline size of every struct.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::mem::size_of;
use std::sync::Arc;

use serde_json::{Map, Value};
use so_domain::{EntityKey, EventMeta};

use super::journal::Origin;

/// What one heap allocation costs beyond its contents, roughly (header and
/// rounding of a general-purpose allocator).
pub(super) const ALLOCATION: usize = 16;

/// What an allocation of `len` bytes weighs.
pub(super) fn block(len: usize) -> usize {
    if len == 0 { 0 } else { len + ALLOCATION }
}

/// The field paths of one record, as sorted, distinct hashes.
pub(super) type Shape = Arc<[u64]>;

/// The shape of a record: every path of its fields (objects followed,
/// nulls skipped) in Ometria's notation (`root > properties > vip`).
pub(super) fn shape_of(body: &Map<String, Value>) -> Vec<u64> {
    let mut out = Vec::new();
    let mut path = String::from("root");
    walk(body, &mut path, &mut out);
    out.sort_unstable();
    out.dedup();
    out
}

fn walk(body: &Map<String, Value>, path: &mut String, out: &mut Vec<u64>) {
    for (key, value) in body {
        let parent = path.len();
        path.push_str(" > ");
        path.push_str(key);
        if let Value::Object(inner) = value {
            walk(inner, path, out);
        }
        if !value.is_null() {
            out.push(path_hash(path));
        }
        path.truncate(parent);
    }
}

/// The hash a path is kept as. `DefaultHasher::new` has fixed keys, so
/// equal paths hash alike for the life of the process, which is all the
/// journal needs (a collision could only add a candidate, and 64 bits make
/// that negligible).
pub(super) fn path_hash(path: &str) -> u64 {
    let mut h = DefaultHasher::new();
    path.hash(&mut h);
    h.finish()
}

/// What a shape weighs: its `Arc` allocation.
pub(super) fn shape_weight(shape: &[u64]) -> usize {
    block(2 * size_of::<usize>() + size_of_val(shape))
}

/// An event as the journal keeps it: its metadata and its packed body.
#[derive(Debug)]
pub(crate) struct KeptOrigin {
    pub(crate) meta: EventMeta,
    packed: Box<[u8]>,
}

impl KeptOrigin {
    pub(super) fn pack(origin: &Origin) -> KeptOrigin {
        KeptOrigin {
            meta: origin.meta.clone(),
            packed: lz4_flex::block::compress_prepend_size(&origin.body).into_boxed_slice(),
        }
    }

    /// The message body as received.
    pub(crate) fn body(&self) -> Result<Vec<u8>, lz4_flex::block::DecompressError> {
        lz4_flex::block::decompress_size_prepended(&self.packed)
    }

    /// What it weighs behind its `Arc`: the allocation holding it, the
    /// packed body and the metadata's strings.
    pub(super) fn weight(&self) -> usize {
        block(2 * size_of::<usize>() + size_of::<KeptOrigin>())
            + block(self.packed.len())
            + meta_heap(&self.meta)
    }
}

/// The heap behind an event's metadata (its owned strings; a topic we
/// know is a constant, counted anyway).
fn meta_heap(meta: &EventMeta) -> usize {
    let entity = match &meta.entity {
        EntityKey::Checkout(token) => token.len(),
        _ => 0,
    };
    [
        meta.webhook_id.as_str().len(),
        meta.topic.as_str().len(),
        meta.shop.as_str().len(),
        meta.api_version.as_str().len(),
        meta.event_id.as_deref().map_or(0, str::len),
        entity,
    ]
    .into_iter()
    .map(block)
    .sum()
}

/// A contact record `id` with `body` (a JSON object), for tests.
#[cfg(test)]
pub(super) fn contact_for_tests(id: &str, body: Value) -> so_domain::ometria::PushRecord {
    let Value::Object(body) = body else {
        unreachable!("a JSON object")
    };
    so_domain::ometria::PushRecord {
        record_type: so_domain::ometria::RecordType::Contact,
        id: id.to_owned(),
        body,
    }
}

/// The metadata of an `orders/create` webhook `webhook_id`, for tests.
#[cfg(test)]
pub(super) fn meta_for_tests(webhook_id: &str) -> EventMeta {
    EventMeta {
        webhook_id: so_domain::WebhookId::parse(webhook_id).unwrap(),
        topic: so_domain::TopicName::parse("orders/create").unwrap(),
        shop: so_domain::ShopDomain::parse("shop.myshopify.com").unwrap(),
        api_version: so_domain::ApiVersion::parse("2026-07").unwrap(),
        event_id: None,
        triggered_at: None,
        received_at: chrono::Utc::now(),
        entity: EntityKey::Order(1),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_shape_has_every_path_of_objects_and_skips_nulls() {
        let Value::Object(body) =
            json!({"lastname": "x", "middlename": null, "properties": {"vip": true}})
        else {
            unreachable!()
        };
        let mut expected: Vec<u64> = [
            "root > lastname",
            "root > properties",
            "root > properties > vip",
        ]
        .iter()
        .map(|p| path_hash(p))
        .collect();
        expected.sort_unstable();
        assert_eq!(shape_of(&body), expected);
    }

    #[test]
    fn a_packed_body_comes_back_as_it_was_and_smaller() {
        let body = serde_json::to_vec(&json!({
            "line_items": (0..20).map(|i| json!({"id": i, "sku": "TSHIRT-M", "title": "T-shirt"})).collect::<Vec<_>>()
        }))
        .unwrap();
        let meta = meta_for_tests("w1");
        let kept = KeptOrigin::pack(&Origin {
            meta,
            body: body.clone(),
        });
        assert_eq!(kept.body().unwrap(), body);
        assert!(
            kept.packed.len() * 3 < body.len(),
            "{} of {}",
            kept.packed.len(),
            body.len()
        );
        assert!(kept.weight() > kept.packed.len());
    }
}

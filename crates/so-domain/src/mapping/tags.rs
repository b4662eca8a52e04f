//! Customer tags: the full set Ometria sees, rebuilt from Shopify's deltas.
//!
//! Since 2025-01 tags arrive only as `customer.tags_added` /
//! `customer.tags_removed` deltas, so the worker stores the current set per
//! customer and computes the next one here. Matching is case-insensitive
//! (Shopify treats `VIP` and `vip` as one tag); the first spelling stays.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::contact::contact_record;
use super::{MappingContext, MappingError};
use crate::identity::ContactRef;
use crate::ometria::PushRecord;

/// A set of tags, ordered by their lower-case form.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TagSet(BTreeMap<String, String>);

impl TagSet {
    /// Parses the comma-separated `tags` of a pre-2025-01 payload.
    pub fn parse_csv(raw: &str) -> TagSet {
        TagSet::from_tags(raw.split(','))
    }

    pub fn from_tags<'a>(tags: impl IntoIterator<Item = &'a str>) -> TagSet {
        let mut set = TagSet::default();
        for tag in tags {
            set.insert(tag);
        }
        set
    }

    fn insert(&mut self, tag: &str) {
        let tag = tag.trim();
        if !tag.is_empty() {
            self.0
                .entry(tag.to_lowercase())
                .or_insert_with(|| tag.to_owned());
        }
    }

    fn remove(&mut self, tag: &str) {
        self.0.remove(&tag.trim().to_lowercase());
    }

    pub fn contains(&self, tag: &str) -> bool {
        self.0.contains_key(&tag.trim().to_lowercase())
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.values().map(String::as_str)
    }

    pub(crate) fn to_json(&self) -> Value {
        Value::Array(self.iter().map(Value::from).collect())
    }
}

/// `(current ∪ added) \ removed`. Each Shopify event carries one list; the
/// other is empty.
pub fn apply_tag_change(current: &TagSet, added: &[String], removed: &[String]) -> TagSet {
    let mut next = current.clone();
    for tag in added {
        next.insert(tag);
    }
    for tag in removed {
        next.remove(tag);
    }
    next
}

/// Sends the whole set as `properties.shopify_tags` (a list, so a removed
/// tag disappears in Ometria too).
pub fn map_tags(
    _ctx: &MappingContext,
    contact: &ContactRef,
    tags: &TagSet,
) -> Result<Vec<PushRecord>, MappingError> {
    let mut record = contact_record(contact);
    record.set(
        "properties",
        serde_json::json!({ "shopify_tags": tags.to_json() }),
    );
    Ok(vec![record.finish()?])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn owned(tags: &[&str]) -> Vec<String> {
        tags.iter().map(|t| (*t).to_owned()).collect()
    }

    #[test]
    fn adds_and_removes_case_insensitively_keeping_the_first_spelling() {
        let current = TagSet::parse_csv("VIP, newsletter , ,");
        let next = apply_tag_change(
            &current,
            &owned(&["vip", "Wholesale"]),
            &owned(&["NEWSLETTER"]),
        );
        assert_eq!(next.iter().collect::<Vec<_>>(), vec!["VIP", "Wholesale"]);
    }

    proptest! {
        #[test]
        fn removed_tags_are_gone_and_added_ones_present(
            current in proptest::collection::vec("[a-zA-Z]{1,4}", 0..6),
            added in proptest::collection::vec("[a-zA-Z]{1,4}", 0..6),
            removed in proptest::collection::vec("[a-zA-Z]{1,4}", 0..6),
        ) {
            let set = TagSet::from_tags(current.iter().map(String::as_str));
            let next = apply_tag_change(&set, &added, &removed);
            for t in &removed { prop_assert!(!next.contains(t)); }
            for t in added.iter().filter(|a| !removed.iter().any(|r| r.eq_ignore_ascii_case(a))) {
                prop_assert!(next.contains(t));
            }
        }

        #[test]
        fn applying_the_same_change_twice_changes_nothing(
            current in proptest::collection::vec("[a-z]{1,3}", 0..6),
            added in proptest::collection::vec("[a-z]{1,3}", 0..4),
            removed in proptest::collection::vec("[a-z]{1,3}", 0..4),
        ) {
            let set = TagSet::from_tags(current.iter().map(String::as_str));
            let once = apply_tag_change(&set, &added, &removed);
            prop_assert_eq!(apply_tag_change(&once, &added, &removed), once);
        }
    }
}

//! Contact records carry the contact's full property set.
//!
//! Ometria does not document whether a pushed `properties` object is merged
//! key by key or replaces the stored one. So a contact record never carries
//! part of it: its keys are merged into the contact's snapshot in the store,
//! and the record carries the whole result (tags, state, behavioural
//! attributes, mapped fields). The snapshot's version goes with the commit,
//! which re-marks the contact if a newer snapshot was made meanwhile (see
//! `so_store`'s `properties.rs`).

use serde_json::Value;
use so_domain::mapping::Buyer;
use so_domain::ometria::{PushRecord, RecordType};

use super::{Ctx, Preparer};
use crate::outcome::Failure;

impl Preparer {
    /// Replaces each contact record's `properties` with the contact's full
    /// snapshot after merging the record's keys into it.
    pub(super) async fn complete_properties(
        &self,
        cx: &mut Ctx<'_>,
        records: &mut [PushRecord],
    ) -> Result<(), Failure> {
        for record in records
            .iter_mut()
            .filter(|r| r.record_type == RecordType::Contact)
        {
            let Some(Value::Object(update)) = record.body.get("properties") else {
                continue;
            };
            let snapshot = self
                .store
                .merge_contact_properties(cx.shop, &record.id, update)
                .await?;
            record
                .body
                .insert("properties".to_owned(), Value::Object(snapshot.properties));
            cx.changes.properties_pushed.push((
                cx.shop.clone(),
                buyer_of(record),
                snapshot.version,
            ));
        }
        Ok(())
    }
}

/// The contact's Ometria keys, as the outbox drain needs them.
pub(crate) fn buyer_of(record: &PushRecord) -> Buyer {
    let text = |key: &str| {
        record
            .body
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    Buyer {
        id: record.id.clone(),
        collection: text("@collection").unwrap_or_default(),
        customer_id: text("customer_id"),
    }
}

//! Behavioural attributes ride in the contact record a batch sends anyway.
//!
//! When a batch sends a contact record for a contact whose attributes are
//! due (marked in the outbox, or marked by this batch's own order
//! changes), the attributes go inside that record instead of a record of
//! their own: computed from committed orders overlaid with the batch's
//! uncommitted order states, merged into the contact's property snapshot
//! (contact records carry the full set, docs/identity.md), one contact
//! record per contact per request.
//!
//! Once the record is accepted and every event whose order state was
//! counted is done, the outbox mark read before the computation is cleared
//! with the drain's seq guard (a mark made meanwhile, by another
//! partition's order, survives), and the batch's own marks of the contact
//! are dropped from its commit. If a counted event failed, the contact is
//! marked instead, so the drain recomputes from what was committed.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde_json::Value;
use so_domain::ShopDomain;
use so_domain::mapping::Buyer;
use so_domain::ometria::RecordType;
use so_ometria::Coalescing;
use so_store::{Commit, Store};

use super::claims::{Claim, Claims, ContactKey};
use super::facts::{Facts, Overlay};
use crate::dispose::Settled;
use crate::outcome::Outcome;
use crate::prepare::buyer_of;
use crate::rules::Rules;

/// Attaches attributes to a batch's contact records.
pub(crate) struct Riders {
    pub(crate) store: Store,
    pub(crate) rules: Arc<Rules>,
    pub(crate) claims: Arc<Claims>,
    pub(crate) coalescing: Coalescing,
}

/// One contact whose attributes ride in the batch.
#[derive(Debug)]
struct Ride {
    shop: ShopDomain,
    buyer: Buyer,
    /// The event whose contact record carries the attributes.
    carrier: usize,
    /// The events whose order changes marked the contact (counted).
    counted: Vec<usize>,
    /// The outbox mark read before the attributes were computed.
    seq: Option<i64>,
}

/// The batch's rides, and its claim on the contacts it sends records for
/// (held until the batch is settled, so the drain leaves them alone).
#[derive(Debug)]
pub(crate) struct Rides {
    rides: Vec<Ride>,
    _claim: Claim,
}

/// Where a contact record sits in the batch (event and record index), and
/// the contact it is for.
type Place = (usize, usize, Buyer);

impl Riders {
    /// Puts due attributes into the batch's contact records. On a store
    /// error nothing rides: the attributes go through the drain as before.
    pub(crate) async fn attach(&self, prepared: &mut [Settled]) -> Rides {
        let none = || Rides {
            rides: Vec::new(),
            _claim: Claim::none(),
        };
        if self.coalescing == Coalescing::Off {
            return none();
        }
        let carriers = self.carriers(prepared);
        if carriers.is_empty() {
            return none();
        }
        let claim = self.claims.claim(carriers.keys().cloned());
        match self.due(prepared, &carriers, &claim).await {
            Ok(rides) => Rides {
                rides,
                _claim: claim,
            },
            Err(e) => {
                tracing::debug!(error = %e, "Behavioural attributes do not ride this batch.");
                Rides {
                    rides: Vec::new(),
                    _claim: claim,
                }
            }
        }
    }

    /// The last contact record of each contact the batch pushes, for shops
    /// with attributes switched on.
    fn carriers(&self, prepared: &[Settled]) -> HashMap<ContactKey, Place> {
        let mut out = HashMap::new();
        for (i, s) in prepared.iter().enumerate() {
            let (Outcome::Push { records, .. }, Some(meta)) = (&s.outcome, &s.meta) else {
                continue;
            };
            if !self.rules.for_shop(&meta.shop).settings.behaviour.any() {
                continue;
            }
            for (j, r) in records.iter().enumerate() {
                if r.record_type == RecordType::Contact {
                    out.insert((meta.shop.clone(), r.id.clone()), (i, j, buyer_of(r)));
                }
            }
        }
        out
    }

    /// Computes and attaches the attributes of the claimed contacts that
    /// are due.
    async fn due(
        &self,
        prepared: &mut [Settled],
        carriers: &HashMap<ContactKey, Place>,
        claim: &Claim,
    ) -> Result<Vec<Ride>, so_store::Error> {
        let mut counted: HashMap<ContactKey, Vec<usize>> = HashMap::new();
        for (i, s) in prepared.iter().enumerate() {
            for (shop, b) in s
                .outcome
                .changes()
                .into_iter()
                .flat_map(|c| &c.behaviour_dirty)
            {
                counted
                    .entry((shop.clone(), b.id.clone()))
                    .or_default()
                    .push(i);
            }
        }
        let mut by_shop: HashMap<&ShopDomain, Vec<String>> = HashMap::new();
        for key in carriers.keys().filter(|k| claim.holds(k)) {
            by_shop.entry(&key.0).or_default().push(key.1.clone());
        }
        // The marks first, then the orders: an order committed in between
        // re-marks the contact, so its clearing below is refused.
        let mut marks: HashMap<ContactKey, i64> = HashMap::new();
        for (shop, ids) in by_shop {
            for (id, seq) in self.store.dirty_marks(shop, &ids).await? {
                marks.insert((shop.clone(), id), seq);
            }
        }
        let mut rides: Vec<Ride> = carriers
            .iter()
            .filter(|(k, _)| claim.holds(k) && (marks.contains_key(*k) || counted.contains_key(*k)))
            .map(|(k, (i, _, buyer))| Ride {
                shop: k.0.clone(),
                buyer: buyer.clone(),
                carrier: *i,
                counted: counted.get(k).cloned().unwrap_or_default(),
                seq: marks.get(k).copied(),
            })
            .collect();
        if rides.is_empty() {
            return Ok(rides);
        }
        let contacts: Vec<(ShopDomain, Buyer)> = rides
            .iter()
            .map(|r| (r.shop.clone(), r.buyer.clone()))
            .collect();
        let facts = Facts::read(&self.store, &self.rules, &contacts).await?;
        let overlay = Overlay::of(prepared.iter().filter_map(|s| s.outcome.changes()));
        let mut updates = Vec::new();
        rides.retain(|r| {
            let Some(attributes) = facts.attributes(&self.rules, &r.shop, &r.buyer, Some(&overlay))
            else {
                // Not active: the drain clears its mark.
                return false;
            };
            updates.push((r.shop.clone(), r.buyer.id.clone(), attributes));
            true
        });
        drop(overlay);
        let snapshots = self.store.merge_contact_properties_many(&updates).await?;
        for (ride, snapshot) in rides.iter().zip(snapshots) {
            let (i, j, _) = &carriers[&(ride.shop.clone(), ride.buyer.id.clone())];
            carry(prepared, (*i, *j), ride, snapshot);
        }
        Ok(rides)
    }
}

/// Puts the snapshot (now with the attributes) into the carrier's record
/// and makes the carrier's commit name its version.
fn carry(
    prepared: &mut [Settled],
    (i, j): (usize, usize),
    ride: &Ride,
    snapshot: so_store::PropertySnapshot,
) {
    let Outcome::Push {
        records, changes, ..
    } = &mut prepared[i].outcome
    else {
        return;
    };
    records[j]
        .body
        .insert("properties".to_owned(), Value::Object(snapshot.properties));
    changes
        .properties_pushed
        .retain(|(shop, b, _)| !(shop == &ride.shop && b.id == ride.buyer.id));
    changes
        .properties_pushed
        .push((ride.shop.clone(), ride.buyer.clone(), snapshot.version));
}

impl Rides {
    /// Adjusts the batch's commit to how its events fared (`done`: the
    /// event's changes are committed).
    pub(crate) fn settle(&self, commit: &mut Commit, done: impl Fn(usize) -> bool) {
        let mut carried: HashSet<(&ShopDomain, &str)> = HashSet::new();
        for ride in self.rides.iter().filter(|r| done(r.carrier)) {
            if ride.counted.iter().all(|&i| done(i)) {
                carried.insert((&ride.shop, ride.buyer.id.as_str()));
                if let Some(seq) = ride.seq {
                    commit
                        .behaviour_sent
                        .push((ride.shop.clone(), ride.buyer.id.clone(), seq));
                }
            } else {
                commit
                    .behaviour_dirty
                    .push((ride.shop.clone(), ride.buyer.clone()));
            }
        }
        commit
            .behaviour_dirty
            .retain(|(shop, b)| !carried.contains(&(shop, b.id.as_str())));
    }

    /// The batch's state was not written (newer state was stored
    /// concurrently): what rode counted state that is not committed, so
    /// the contacts are marked for the drain to recompute.
    pub(crate) fn superseded(&self, commit: &mut Commit, done: impl Fn(usize) -> bool) {
        for ride in self.rides.iter().filter(|r| done(r.carrier)) {
            commit
                .behaviour_dirty
                .push((ride.shop.clone(), ride.buyer.clone()));
        }
    }

    /// How many contacts' attributes ride in the batch.
    pub(crate) fn len(&self) -> usize {
        self.rides.len()
    }
}

#[cfg(test)]
mod tests;

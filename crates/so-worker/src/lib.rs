//! The worker.
//!
//! Each processor owns a fixed subset of the partitions and handles one
//! batch at a time:
//!
//! 1. [`prepare`]: decode, dedupe and staleness against the store (plus the
//!    batch's own pending changes), identity resolution, mapping to Ometria
//!    records;
//! 2. [`deliver`]: coalesce, batch and push, mapping every accepted,
//!    rejected or failed record back to the events that produced it;
//! 3. [`dispose`]: commit the state of accepted events in one transaction,
//!    then ack; re-queue transient failures to a broker retry tier and
//!    dead-letter permanent ones (both with confirms) before acking.
//!
//! One `Outcome` (`outcome.rs`) carries an event's fate through all three
//! stages; its reasons are `so_domain`'s enums, so the strings on the wire
//! and in metric labels are written once.
//!
//! Ometria validates records after answering `OK`; [`rejections`] watches
//! its `_errors` and dead-letters the events of records it refused later.
//!
//! A message is acked only once its effect is safe: accepted by Ometria,
//! or durably re-queued, parked or dead-lettered.

mod accounts;
mod attributes;
mod cache;
mod deliver;
mod dispose;
mod erasures;
mod gather;
mod live;
mod membership;
mod outcome;
mod overtaken;
mod pending;
mod prepare;
mod processor;
mod progress;
mod pusher;
mod rejections;
mod rules;
mod screen;
mod worker;

pub use rules::RulesError;
pub use worker::Worker;

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
//! A message is acked only once its effect is safe: accepted by Ometria,
//! or durably re-queued, parked or dead-lettered.

// A plan (with the state changes it carries) is built once per event and
// moved up a few frames as the `Err` of `?`; boxing it would allocate per
// event for nothing.
#![allow(clippy::result_large_err)]

mod accounts;
mod attributes;
mod cache;
mod deliver;
mod dispose;
mod erasures;
mod membership;
mod pending;
mod prepare;
mod processor;
mod pusher;
mod rules;
mod screen;
mod worker;

pub use rules::RulesError;
pub use worker::Worker;

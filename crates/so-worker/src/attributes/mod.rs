//! Behavioural attributes (orders count, total spent, dates, last order):
//! computed from committed orders ([`facts`]), carried by the contact
//! record a batch sends anyway ([`riders`]), otherwise sent from the
//! outbox by a drain in every worker ([`drain`]). [`claims`] keeps one
//! contact's updates from being in flight twice in one process.

mod claims;
mod drain;
mod facts;
mod riders;

pub(crate) use claims::Claims;
pub(crate) use drain::Attributes;
pub(crate) use riders::{Riders, Rides};

//! One pusher per process and account: every processor (and the attribute
//! drain) hands its records here, and requests are cut from all of them
//! together, after the rate limiter has granted the slot. Under Ometria's
//! budget the records pile up while a slot is awaited, so each request
//! leaves full (up to 100 records) instead of every processor sending the
//! partly filled tail of its own batch; a slot whose request is not full
//! yet waits for the producers still preparing records ([`Preparing`]).
//! With no backlog a slot is free at once and records go out straight away.
//!
//! [`handle`]: the handle producers hold and what they see of the queue;
//! [`run`]: the loop that cuts and sends requests; [`pick`]: which type a
//! request carries and how long a slot waits to fill; [`shared`]:
//! identical product records riding together.

mod handle;
mod pick;
mod run;
mod shared;

pub(crate) use handle::{Preparing, PushLoop, Pusher, Sent, pusher};

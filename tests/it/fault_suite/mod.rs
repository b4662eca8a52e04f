//! The fault suite: a steady signed webhook load through the real ingress
//! and worker into the fake Ometria while the broker is restarted, killed,
//! has its connections closed, raises a disk alarm or is blackholed, the
//! ingress or the worker (real processes) is killed with SIGKILL, Ometria
//! goes down or becomes unreachable at the socket, or the store's
//! PostgreSQL server crashes. Senders behave
//! like Shopify: anything but a 200 is sent again (same webhook id), within
//! a bounded time.
//!
//! Each case waits until the system is at rest (bounded, not requiring
//! success), then accounts for every acknowledged webhook id against the
//! fake's write log (`accounting`), prints its figures and only then
//! asserts: nothing lost, nothing stuck or dead-lettered, and proof that
//! the fault touched in-flight traffic.
//!
//! Cases that stop, kill or alarm a broker run their own private RabbitMQ
//! node (`PrivateBroker`); the blackhole case goes through the in-test TCP
//! proxy in front of the shared broker. The short variant runs each case on
//! one store backend, alternating; `SO_FAULT_BACKENDS=both` runs each on
//! SQLite and PostgreSQL.

mod accounting;
mod broker;
mod database;
mod harness;
mod load;
mod ometria_link;
mod services;
mod settle;

/// How long each outage lasts (the fault itself, not a synchronisation).
const OUTAGE: std::time::Duration = std::time::Duration::from_secs(3);

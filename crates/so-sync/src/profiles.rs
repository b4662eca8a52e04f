//! Profile sends, as Adestra's Data Sync does them: on demand
//! (`send-profiles`) or daily at a time of day in the shop's time zone,
//! sending every customer or only subscribers, optionally only those
//! active in a date range, each joining a chosen Ometria list.
//!
//! A send is a backfill of customers ([`send`]); the daily decision is a
//! pure function of the time, the settings and the last send
//! ([`schedule`]), driven by a [`schedule::Clock`].

pub mod auto;
pub mod choices;
pub mod claim;
pub mod schedule;
pub mod send;

pub use auto::{AutoSends, SendStatus, SendSummary, status};
pub use choices::{Choices, Kind, Request};
pub use claim::Claimant;
pub use schedule::{Clock, Daily, ManualClock, SystemClock};
pub use send::{ProfileSend, SendProgress};

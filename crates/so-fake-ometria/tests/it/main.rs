//! Behaviour of the fake over HTTP, following the ometria.md checklist.

mod erasures;
mod faults;
mod limits;
mod merges;
mod profiles;
mod push_rules;
mod rejections;
mod storage;
mod support;
mod unsubscribes;
mod write_log;

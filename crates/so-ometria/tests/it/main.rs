//! The client against the stateful fake Ometria.

mod erasing;
mod limiting;
mod push;
mod reading;
mod retrying;
mod support;

//! The client against the stateful fake Ometria.

mod limiting;
mod push;
mod retrying;
mod support;

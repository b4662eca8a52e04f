//! The fake over HTTP, as a client sees it.

mod authcode;
mod bulk;
mod graphql;
mod subscriptions;
mod support;
mod token;

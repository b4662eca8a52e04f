//! The fake over HTTP, as a client sees it.

mod bulk;
mod graphql;
mod support;
mod token;

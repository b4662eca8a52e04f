//! The client against `so-fake-shopify`, over real HTTP on loopback.

mod bulk;
mod client_credentials;
mod consent;
mod errors;
mod pages;
mod subscriptions;
mod support;
mod throttling;
mod webhook_shape;

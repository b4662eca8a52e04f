//! Connecting a shop (issue 16): the app configuration file in step with
//! the service, and the client credentials grant through a real backfill.

mod app_config;
mod oauth_install;
mod token_backfill;
mod uninstall;

//! so-store integration tests: every test runs on SQLite (temp dir) and on PostgreSQL (a fresh
//! database on 127.0.0.1:5432, or `SOTEST_POSTGRES_URL`).

mod activity;
mod commit;
mod concurrency;
mod connect;
mod entities;
mod exports;
mod identity;
mod ledger;
mod letter_page;
mod mapping_state;
mod merchant;
mod ometria_errors;
mod outbox;
mod privacy;
mod progress;
mod properties;
mod shop_glance;
mod shop_status;
mod shop_tokens;
mod shops;
mod support;
mod sync;
mod watermarks;

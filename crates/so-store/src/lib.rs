//! Persistence behind the worker: dedupe ledger, version watermarks, identity (guests, customer
//! statuses), per-order state, customer tags, product variants, delivery records and
//! `customers/data_request` exports.
//!
//! One [`Store`] over two backends picked by URL: embedded SQLite (`sqlite://data/so.db?mode=rwc`,
//! the default for one worker) or PostgreSQL (`postgres://…`, for several workers). Both run the
//! same SQL through sqlx's `Any` driver, so there is one implementation and one test suite.
//! Concurrency is settled by the database (unique keys, `ON CONFLICT` upserts, conditional
//! updates), never by in-process locks, so it holds across worker processes too.

mod activity;
mod bulk;
mod codec;
mod commit;
mod connect;
mod delivery;
mod entities;
mod error;
mod exports;
mod fingerprint;
mod identity;
mod ledger;
mod letter_index;
mod mapping_state;
mod members;
mod merchant;
mod oauth_states;
mod ometria_errors;
mod operations;
mod outbox;
mod privacy;
mod profile_sends;
mod progress;
mod properties;
mod sealed;
mod send_claims;
mod shop_glance;
mod shop_status;
mod shop_tokens;
mod shops;
mod sync;
mod watermark;

pub use activity::{RecentRejection, RecentWebhook};
pub use commit::{Commit, CommitOutcome, LedgerEntry};
pub use connect::Store;
pub use error::{Error, Result};
pub use exports::{DataExport, ExportSummary, export_id};
pub use fingerprint::{EmailKey, EmailKeyTooShort, MIN_EMAIL_KEY_BYTES};
pub use identity::IdentityApplied;
pub use letter_index::{IndexedLetter, LetterPage, LetterQuery};
pub use mapping_state::ProductRecordKey;
pub use merchant::{CheckoutChange, CheckoutRow, DirtyContact, HeldChange};
pub use oauth_states::StateCheck;
pub use operations::QueueOperation;
pub use privacy::{ErasureRow, ShopStatus, email_fingerprint};
pub use profile_sends::{ProfileSendCounts, ProfileSendRow};
pub use progress::{Progress, ProgressHold};
pub use properties::PropertySnapshot;
pub use sealed::{SEALING_KEY_BYTES, SealError, Sealer, SealingKey};
pub use send_claims::SendClaim;
pub use shop_glance::ShopGlance;
pub use shop_status::{Rejections, WebhookCheck};
pub use shop_tokens::{ShopTokens, TokenPair, TokenState, TokenStatus};
pub use shops::{
    KeyChange, MASK, ShopActivity, ShopChange, ShopSource, ShopWrite, ShopWriter, StoredShop,
};
pub use sync::{BackfillCheckpoint, ConsentDecision};

//! How a fake instance behaves at start. Most of it can be changed at run time
//! through [`crate::FakeOmetria`]'s fault switches.

use std::time::Duration;

/// Ometria's documented push backlog limit.
pub const DEFAULT_BACKLOG_LIMIT: usize = 50_000;

/// Start-up configuration of a fake.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeConfig {
    /// The only accepted `X-Ometria-Auth` value.
    pub api_key: String,
    /// Request rate limit (per account, all endpoints).
    pub rate_limit: RateLimit,
    /// Records that may wait for validation before pushes get 429.
    pub backlog_limit: usize,
    /// How queued records get validated and applied.
    pub drain: Drain,
    /// `POST /v2/merge-profile` requests per minute before 429 (Ometria: 1).
    pub merges_per_minute: f64,
    /// `POST /v2/data-deletion-requests` per minute before 429 (Ometria: 6),
    /// with a burst of as many.
    pub gdpr_requests_per_minute: f64,
    /// When data-deletion requests complete (Ometria: "within 14 days").
    pub erasure_completion: ErasureCompletion,
    /// Whether a contact may take an identifier another contact holds
    /// (ometria.md §2b: not for contacts created after 2024).
    pub identity_rule: IdentityRule,
    /// How a pushed contact's `properties` meet the stored ones (Ometria
    /// does not document it [U]).
    pub properties: PropertiesMerge,
    /// How refused records are reported (asynchronously by default).
    pub validation: crate::rejections::Validation,
    /// Reject (as a per-record error) an order whose line items name a
    /// product record the account does not have; whether Ometria does is
    /// undocumented [U], so tests run with it on and off.
    pub require_known_products: bool,
}

impl Default for FakeConfig {
    fn default() -> Self {
        FakeConfig {
            api_key: "fake-ometria-key".to_owned(),
            rate_limit: RateLimit::default(),
            backlog_limit: DEFAULT_BACKLOG_LIMIT,
            drain: Drain::Immediate,
            merges_per_minute: 1.0,
            gdpr_requests_per_minute: 6.0,
            erasure_completion: ErasureCompletion::Manual,
            identity_rule: IdentityRule::default(),
            properties: PropertiesMerge::from_env(),
            validation: crate::rejections::Validation::default(),
            require_known_products: false,
        }
    }
}

impl FakeConfig {
    /// The default configuration without a rate limit: convenient for tests
    /// that are not about pacing.
    pub fn unlimited() -> Self {
        FakeConfig {
            rate_limit: RateLimit::Unlimited,
            ..FakeConfig::default()
        }
    }
}

/// A token bucket: `rate` tokens per second, holding at most `burst`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RateLimit {
    /// Every request is admitted.
    Unlimited,
    /// Requests beyond the bucket get 429.
    PerSecond {
        /// Sustained requests per second (Ometria documents 4).
        rate: f64,
        /// Bucket capacity: requests that may arrive back to back.
        burst: u32,
    },
}

impl Default for RateLimit {
    /// 4 req/s with a one-second burst (Ometria's documented push limit; the
    /// real burst tolerance is undocumented).
    fn default() -> Self {
        RateLimit::PerSecond {
            rate: 4.0,
            burst: 4,
        }
    }
}

/// When accepted records are validated and applied. Ometria does this
/// asynchronously; the modes trade realism for test determinism.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Drain {
    /// Before the push response is sent: once a push returns 200, its valid
    /// records are visible and its invalid ones are in `_errors`.
    Immediate,
    /// Only when a test calls [`crate::FakeOmetria::process_backlog`]: lets a
    /// test fill the backlog deterministically.
    Manual,
    /// A background task applies this many records per second (checked every
    /// [`DRAIN_TICK`]).
    PerSecond(f64),
}

/// Granularity of [`Drain::PerSecond`].
pub const DRAIN_TICK: Duration = Duration::from_millis(20);

/// When a data-deletion (anonymisation) request completes. Ometria processes
/// them asynchronously; until then `timestamp_completed` is null.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ErasureCompletion {
    /// Only when a test calls [`crate::FakeOmetria::complete_erasures`].
    #[default]
    Manual,
    /// This long after the request was created.
    After(Duration),
}

/// Who may carry an identifier (`email`, `customer_id`, `phone_number`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IdentityRule {
    /// Contacts created after 2024: the first contact to carry an
    /// identifier owns it while it holds it; a later claimant's value is
    /// ignored (the rest of its record is applied).
    #[default]
    FirstOwnerKeeps,
    /// Before 2024: any number of contacts may carry the same value.
    Shared,
}

/// How the `properties` of a contact push meet the stored object.
/// Ometria documents field-level merging of pushes but not whether
/// `properties` is merged key by key or replaced whole [U], so the service
/// must be correct under both; suites choose with
/// [`PROPERTIES_ENV`] (`merge` or `replace`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PropertiesMerge {
    /// A push's keys replace the stored ones; other stored keys stay.
    KeyByKey,
    /// A push's `properties` object replaces the stored one whole: the
    /// stricter reading (a partial object loses the keys it leaves out).
    #[default]
    Replace,
}

/// Environment switch for [`PropertiesMerge`] in [`FakeConfig::default`]:
/// `merge` (key by key) or `replace` (the default when unset).
pub const PROPERTIES_ENV: &str = "SO_FAKE_OMETRIA_PROPERTIES";

impl PropertiesMerge {
    /// From [`PROPERTIES_ENV`]; unset means the stricter `replace`. Any
    /// other value is a mistake in the test setup and panics.
    pub fn from_env() -> Self {
        match std::env::var(PROPERTIES_ENV).as_deref() {
            Err(_) | Ok("" | "replace") => PropertiesMerge::Replace,
            Ok("merge") => PropertiesMerge::KeyByKey,
            Ok(other) => panic!("{PROPERTIES_ENV} must be `merge` or `replace`, not {other:?}"),
        }
    }
}

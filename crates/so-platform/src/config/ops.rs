//! `[ops]`: the ops listener (metrics, health, admin API) and shutdown.

use std::net::SocketAddr;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use so_domain::serde_duration::secs;

use crate::secrets::optional_secret;

/// `[ops]`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct OpsSettings {
    /// Address of `/metrics`, `/healthz`, `/readyz` and the admin API.
    pub listen: SocketAddr,
    /// A listener of the web console's own (`/console/`). Unset: the console is served on
    /// `listen` with the admin API. Set, it is served only here, so an embedded app's public
    /// address need not expose the admin API and `/metrics`.
    pub console_listen: Option<SocketAddr>,
    /// Bearer token of the admin API; without one the admin API is off.
    #[serde(
        deserialize_with = "optional_secret",
        serialize_with = "so_domain::serde_secret::masked_opt"
    )]
    pub admin_token: Option<SecretString>,
    /// How often queue depths are polled for `/metrics` (`queue_poll_secs`).
    #[serde(rename = "queue_poll_secs", with = "secs")]
    pub queue_poll: Duration,
    /// After SIGTERM, how long in-flight work may drain before the process
    /// exits anyway, leaving unacknowledged messages to the broker (safe:
    /// they are redelivered and deduplicated). Under Kubernetes' default
    /// 30 s termination grace (`shutdown_grace_secs`).
    #[serde(rename = "shutdown_grace_secs", with = "secs")]
    pub shutdown_grace: Duration,
}

impl Default for OpsSettings {
    fn default() -> Self {
        OpsSettings {
            listen: SocketAddr::from(([127, 0, 0, 1], 9090)),
            console_listen: None,
            admin_token: None,
            queue_poll: Duration::from_secs(15),
            shutdown_grace: Duration::from_secs(20),
        }
    }
}

impl OpsSettings {
    pub(super) fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.queue_poll.is_zero() {
            out.push("ops.queue_poll_secs must be at least 1".to_owned());
        }
        if !(1..=3600).contains(&self.shutdown_grace.as_secs()) {
            out.push("ops.shutdown_grace_secs must be between 1 and 3600".to_owned());
        }
        if self
            .admin_token
            .as_ref()
            .is_some_and(|t| t.expose_secret().len() < 16)
        {
            out.push("ops.admin_token must be at least 16 characters".to_owned());
        }
        if self.console_listen == Some(self.listen) {
            out.push("ops.console_listen must differ from ops.listen".to_owned());
        }
        out
    }
}

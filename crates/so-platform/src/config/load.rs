//! Reading the layers: defaults, the optional file, the environment.

use std::path::Path;

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use figment::value::Value;

use super::{Config, ConfigError};

/// Prefix of the environment variables that override configuration.
pub const ENV_PREFIX: &str = "SO_";

/// Keys whose environment values are taken verbatim, never parsed.
const VERBATIM_KEYS: &[&str] = &[
    "url",
    "urls",
    "api_url",
    "api_key",
    "admin_token",
    "webhook_secrets",
    "prefix",
    "namespace",
    "access_token",
    "client_id",
    "client_secret",
];

impl Config {
    /// Loads from an optional file and the given environment, then
    /// validates. Tests pass their own environment instead of mutating the
    /// process's.
    pub fn load<I, K, V>(file: Option<&Path>, env: I) -> Result<Config, ConfigError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut figment = Figment::new();
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::File {
                path: path.display().to_string(),
                source,
            })?;
            figment = figment.merge(Toml::string(&text));
        }
        for (key, value) in env {
            let Some(rest) = key.as_ref().strip_prefix(ENV_PREFIX) else {
                continue;
            };
            let path = rest.to_ascii_lowercase().replace("__", ".");
            // Same scalar syntax as figment's Env provider (numbers, bools,
            // lists), except for secrets and URLs, which keep their exact text
            // (a digits-only API key must not become a number).
            let leaf = path.rsplit('.').next().unwrap_or_default();
            let parsed: Value = if VERBATIM_KEYS.contains(&leaf) {
                Value::from(value.as_ref())
            } else {
                value
                    .as_ref()
                    .parse()
                    .unwrap_or_else(|_| Value::from(value.as_ref()))
            };
            figment = figment.merge(Serialized::default(&path, parsed));
        }
        let mut config: Config = figment
            .extract()
            .map_err(|e| ConfigError::Parse(describe(e)))?;
        config.amqp.scheduled_delays_secs = config
            .shops
            .values()
            .filter(|s| s.abandoned_checkouts.enabled)
            .map(|s| s.abandoned_checkouts.delay_secs)
            .collect();
        let problems = config.problems();
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError::Invalid(problems))
        }
    }
}

/// Figment's message plus the key path it concerns.
fn describe(e: figment::Error) -> String {
    e.into_iter()
        .map(|e| {
            let key = e.path.join(".");
            if key.is_empty() {
                e.kind.to_string()
            } else {
                format!("{key}: {}", e.kind)
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

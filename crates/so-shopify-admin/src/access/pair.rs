//! The token endpoint for the authorization code grant (`shopify-apps.md` §3.4, §3.5): a
//! code exchanged with `expiring=1`, and `grant_type=refresh_token`. Both answer an expiring
//! pair; a 4xx with an OAuth `error` (`invalid_grant`, `invalid_client`, `invalid_request`) is a
//! refusal that retrying cannot fix.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::ACCEPT;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::error::{AdminError, TransientCause};
use crate::retry::{StatusClass, backoff, classify_status, retry_after};
use crate::settings::AdminSettings;

/// A granted pair, with its expiries counted from when the request was sent.
#[derive(Clone)]
pub struct GrantedPair {
    pub access_token: SecretString,
    pub access_expires_at: Option<DateTime<Utc>>,
    pub refresh_token: Option<SecretString>,
    pub refresh_expires_at: Option<DateTime<Utc>>,
    pub scope: String,
}

impl std::fmt::Debug for GrantedPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrantedPair")
            .field("access_expires_at", &self.access_expires_at)
            .field("refresh_expires_at", &self.refresh_expires_at)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// Why no pair was granted.
#[derive(Debug)]
pub enum PairError {
    /// A 4xx: the code, refresh token or client was refused (the OAuth `error` if any).
    Refused { status: u16, error: Option<String> },
    /// Transient failures until the deadline, or an unreadable answer.
    Failed(AdminError),
}

impl PairError {
    /// `invalid_grant (HTTP 400)`: for logs and the store (no secret in it).
    pub fn reason(&self) -> String {
        match self {
            PairError::Refused { status, error } => {
                format!("{} (HTTP {status})", error.as_deref().unwrap_or("refused"))
            }
            PairError::Failed(e) => e.to_string(),
        }
    }
}

#[derive(Deserialize)]
struct Answer {
    access_token: SecretString,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    refresh_token: Option<SecretString>,
    #[serde(default)]
    refresh_token_expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct OAuthError {
    #[serde(default)]
    error: Option<String>,
}

/// `POST {token_url}` with `client_id`, `client_secret`, `code`, `expiring=1`.
pub async fn exchange_code(
    settings: &AdminSettings,
    token_url: &str,
    client_id: &str,
    client_secret: &SecretString,
    code: &str,
) -> Result<GrantedPair, PairError> {
    let http = crate::client::api_http(settings).map_err(PairError::Failed)?;
    let form = [
        ("client_id", client_id),
        ("client_secret", client_secret.expose_secret()),
        ("code", code),
        ("expiring", "1"),
    ];
    with_retries(settings, &http, token_url, &form).await
}

/// `POST {token_url}` with `grant_type=refresh_token`.
pub async fn refresh_pair(
    settings: &AdminSettings,
    http: &reqwest::Client,
    token_url: &str,
    client_id: &str,
    client_secret: &SecretString,
    refresh_token: &SecretString,
) -> Result<GrantedPair, PairError> {
    let form = [
        ("client_id", client_id),
        ("client_secret", client_secret.expose_secret()),
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token.expose_secret()),
    ];
    with_retries(settings, http, token_url, &form).await
}

async fn with_retries(
    settings: &AdminSettings,
    http: &reqwest::Client,
    url: &str,
    form: &[(&str, &str)],
) -> Result<GrantedPair, PairError> {
    let started = tokio::time::Instant::now();
    let mut attempts = 0_u32;
    loop {
        attempts += 1;
        let sent_at = Utc::now();
        let (cause, hint) = match once(http, url, form).await {
            Once::Done(answer) => return read(answer, sent_at),
            Once::Again(cause, hint) => (cause, hint),
        };
        let s = settings;
        let pause = backoff(attempts, s.initial_backoff, s.max_backoff, s.jitter)
            .max(hint.unwrap_or_default());
        if attempts > s.max_retries || started.elapsed() + pause > s.deadline {
            return Err(PairError::Failed(AdminError::Transient {
                attempts,
                elapsed: started.elapsed(),
                last: cause,
            }));
        }
        tokio::time::sleep(pause).await;
    }
}

enum Once {
    Done((u16, Vec<u8>)),
    Again(TransientCause, Option<Duration>),
}

async fn once(http: &reqwest::Client, url: &str, form: &[(&str, &str)]) -> Once {
    let sent = http
        .post(url)
        .header(ACCEPT, "application/json")
        .form(form)
        .send()
        .await;
    let response = match sent {
        Ok(r) => r,
        Err(e) if e.is_timeout() => return Once::Again(TransientCause::Timeout(e), None),
        Err(e) => return Once::Again(TransientCause::Transport(e), None),
    };
    let status = response.status().as_u16();
    let hint = retry_after(response.headers());
    if matches!(
        classify_status(status),
        StatusClass::Throttled | StatusClass::Transient
    ) {
        return Once::Again(TransientCause::Status(status), hint);
    }
    match response.bytes().await {
        Ok(body) => Once::Done((status, body.to_vec())),
        Err(e) => Once::Again(TransientCause::Transport(e), hint),
    }
}

fn read((status, body): (u16, Vec<u8>), sent_at: DateTime<Utc>) -> Result<GrantedPair, PairError> {
    if (400..500).contains(&status) {
        let error = serde_json::from_slice::<OAuthError>(&body)
            .ok()
            .and_then(|e| e.error);
        return Err(PairError::Refused { status, error });
    }
    let unexpected = |what: &str| {
        PairError::Failed(AdminError::decode(
            "token endpoint answer",
            format!("HTTP {status} {what}"),
        ))
    };
    if status != 200 {
        return Err(unexpected("instead of a token"));
    }
    // serde's message could quote the body, which holds the token.
    let answer: Answer =
        serde_json::from_slice(&body).map_err(|_| unexpected("without an access_token"))?;
    if answer.access_token.expose_secret().is_empty() {
        return Err(unexpected("with an empty access_token"));
    }
    let after = |secs: Option<u64>| {
        secs.map(|s| sent_at + chrono::Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX / 2)))
    };
    Ok(GrantedPair {
        access_token: answer.access_token,
        access_expires_at: after(answer.expires_in),
        refresh_token: answer.refresh_token,
        refresh_expires_at: after(answer.refresh_token_expires_in),
        scope: answer.scope.unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_become_pairs_or_refusals_without_quoting_the_body() {
        let at = Utc::now();
        let body = br#"{"access_token":"shpua_x","scope":"read_orders","expires_in":3600,"refresh_token":"shprt_y","refresh_token_expires_in":7776000}"#;
        let pair = read((200, body.to_vec()), at).unwrap();
        assert_eq!(pair.refresh_token.unwrap().expose_secret(), "shprt_y");
        assert_eq!(
            pair.access_expires_at,
            Some(at + chrono::Duration::seconds(3600))
        );
        let refused = read((400, br#"{"error":"invalid_grant"}"#.to_vec()), at).unwrap_err();
        assert_eq!(refused.reason(), "invalid_grant (HTTP 400)");
        let odd = read(
            (200, br#"{"access_token":7,"x":"shpua_secret"}"#.to_vec()),
            at,
        )
        .unwrap_err()
        .reason();
        assert!(!odd.contains("shpua_secret"), "{odd}");
    }
}

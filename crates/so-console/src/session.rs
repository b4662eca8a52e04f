//! Ops sessions, held server-side in this process: a random id in an `HttpOnly`,
//! `SameSite=Strict` cookie, the operator's name and a CSRF token bound to the session, and an
//! expiry. Server-side so logout and expiry really end a session and no signing key needs
//! configuring; the price is that a restart logs everyone out and each replica has its own
//! sessions (put the console behind one replica, or sticky sessions).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq;

/// The session cookie's name.
pub const COOKIE: &str = "so_console";
/// The login form's double-submit cookie (there is no session yet to bind its token to).
pub const LOGIN_COOKIE: &str = "so_console_login";
/// A session lasts this long from login.
pub const LIFETIME: Duration = Duration::from_secs(8 * 3600);

/// One logged-in operator.
#[derive(Debug, Clone)]
pub struct Session {
    /// Who, as typed at login, for the audit trail.
    pub who: String,
    /// The token every form of this session carries.
    pub csrf: String,
    expires: Instant,
}

/// The live sessions; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Sessions {
    inner: Arc<Mutex<HashMap<String, Session>>>,
}

/// A random 256-bit value, base64url: session ids and CSRF tokens.
pub fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

impl Sessions {
    /// Opens a session for `who`; returns its id (the cookie's value).
    pub fn open(&self, who: String) -> String {
        let id = random_token();
        let now = Instant::now();
        let session = Session {
            who,
            csrf: random_token(),
            expires: now + LIFETIME,
        };
        let mut all = self.lock();
        all.retain(|_, s| s.expires > now);
        all.insert(id.clone(), session);
        id
    }

    /// The live session of `id`, if any.
    pub fn get(&self, id: &str) -> Option<Session> {
        let mut all = self.lock();
        match all.get(id) {
            Some(s) if s.expires > Instant::now() => Some(s.clone()),
            Some(_) => {
                all.remove(id);
                None
            }
            None => None,
        }
    }

    pub fn close(&self, id: &str) {
        self.lock().remove(id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        // A panic elsewhere while holding the lock leaves the map itself consistent.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Whether `given` is `expected`, in constant time; an empty token never matches.
pub fn same_token(given: &str, expected: &str) -> bool {
    !given.is_empty() && bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header
        .split(';')
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value scoped to the console: `HttpOnly`, `SameSite=Strict`, `Secure` when
/// the service is reached over https. `max_age` 0 deletes it.
pub fn set_cookie(name: &str, value: &str, max_age: Duration, secure: bool) -> String {
    format!(
        "{name}={value}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={}{}",
        max_age.as_secs(),
        if secure { "; Secure" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_is_found_until_closed() {
        let sessions = Sessions::default();
        let id = sessions.open("ana".to_owned());
        let s = sessions.get(&id).unwrap();
        assert_eq!(s.who, "ana");
        assert_ne!(s.csrf, id);
        assert!(sessions.get("other").is_none());
        sessions.close(&id);
        assert!(sessions.get(&id).is_none());
    }

    #[test]
    fn tokens_compare_exactly_and_never_empty() {
        assert!(same_token("abc", "abc"));
        assert!(!same_token("abd", "abc"));
        assert!(!same_token("", ""));
    }

    #[test]
    fn cookies_are_read_by_name_and_set_strict() {
        assert_eq!(cookie("a=1; so_console=xyz; b=2", COOKIE), Some("xyz"));
        assert_eq!(cookie("so_console_login=q", COOKIE), None);
        let c = set_cookie(COOKIE, "v", LIFETIME, true);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.ends_with("Secure"));
        assert!(!set_cookie(COOKIE, "v", LIFETIME, false).contains("Secure"));
    }
}

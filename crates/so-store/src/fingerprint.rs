//! Keyed fingerprints of guest emails: the store looks guests up by email without holding the
//! address. HMAC-SHA256 under a server secret (`database.email_key`), not a plain hash: a plain
//! hash of an email can be reversed by hashing a list of known addresses, a keyed one only by
//! whoever holds the key, which never leaves the configuration.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use so_domain::identity::NormalisedEmail;

/// The secret guest emails are fingerprinted with. `Debug` is redacted.
#[derive(Clone)]
pub struct EmailKey(Vec<u8>);

/// Shorter keys are refused: the key is what stands between a fingerprint and the address.
pub const MIN_EMAIL_KEY_BYTES: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the email key must be at least {MIN_EMAIL_KEY_BYTES} bytes")]
pub struct EmailKeyTooShort;

impl EmailKey {
    pub fn new(secret: &[u8]) -> Result<EmailKey, EmailKeyTooShort> {
        if secret.len() < MIN_EMAIL_KEY_BYTES {
            return Err(EmailKeyTooShort);
        }
        Ok(EmailKey(secret.to_vec()))
    }

    /// HMAC-SHA256 of the normalised email, 64 lower-case hex digits (never contains `@`, which
    /// is how rows written before fingerprints are told apart).
    pub fn fingerprint(&self, email: &NormalisedEmail) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0)
            .expect("HMAC accepts keys of any length");
        mac.update(email.as_str().as_bytes());
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

impl fmt::Debug for EmailKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EmailKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use so_domain::identity::normalise_email;

    use super::*;

    #[test]
    fn fingerprints_depend_on_the_key_and_hide_the_address() {
        let email = normalise_email("Jo@Example.com").unwrap();
        let a = EmailKey::new(b"0123456789abcdef").unwrap();
        let b = EmailKey::new(b"0123456789abcdeX").unwrap();
        let fa = a.fingerprint(&email);
        assert_eq!(fa.len(), 64);
        assert!(fa.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(
            fa,
            a.fingerprint(&normalise_email("jo@example.com").unwrap())
        );
        assert_ne!(fa, b.fingerprint(&email));
        assert!(!fa.contains("jo") || !fa.contains('@'));
        assert!(EmailKey::new(b"short").is_err());
        assert_eq!(format!("{a:?}"), "EmailKey(<redacted>)");
    }
}

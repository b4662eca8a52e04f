//! HMAC-SHA256 over the raw body, keyed with the app's client secret as
//! UTF-8 bytes, compared in constant time (shared/reference/shopify.md §1).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Why a signature did not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HmacError {
    #[error("the HMAC header is missing")]
    Missing,
    #[error("the HMAC header is not base64 of a 32-byte digest")]
    Malformed,
    #[error("the HMAC does not match the body for any configured secret")]
    Mismatch,
}

/// Base64 HMAC of `body` under `secret`, as Shopify sends it.
pub fn sign(secret: &str, body: &[u8]) -> String {
    STANDARD.encode(mac(secret.as_bytes(), body).finalize().into_bytes())
}

fn mac(key: &[u8], body: &[u8]) -> HmacSha256 {
    #[allow(clippy::expect_used)]
    let mut m = HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length");
    m.update(body);
    m
}

/// Verifies `header` (base64) against every secret. All secrets are tried,
/// each with a constant-time comparison, so timing reveals neither which
/// secret matched nor how much of the digest did.
pub fn verify(
    secrets: &[SecretString],
    body: &[u8],
    header: Option<&str>,
) -> Result<(), HmacError> {
    let header = header.ok_or(HmacError::Missing)?.trim();
    let expected = STANDARD.decode(header).map_err(|_| HmacError::Malformed)?;
    if expected.len() != 32 {
        return Err(HmacError::Malformed);
    }
    let matched = secrets.iter().fold(false, |found, secret| {
        let ok = mac(secret.expose_secret().as_bytes(), body)
            .verify_slice(&expected)
            .is_ok();
        found | ok
    });
    if matched {
        Ok(())
    } else {
        Err(HmacError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn official_shopify_vector() {
        let secrets = [SecretString::from("test_secret_key")];
        let body = br#"{"foo": "bar"}"#;
        assert_eq!(
            sign("test_secret_key", body),
            "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g="
        );
        assert_eq!(
            verify(
                &secrets,
                body,
                Some("B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g=")
            ),
            Ok(())
        );
    }

    #[test]
    fn any_of_several_secrets_verifies() {
        let secrets = [SecretString::from("old"), SecretString::from("new")];
        assert_eq!(verify(&secrets, b"{}", Some(&sign("old", b"{}"))), Ok(()));
        assert_eq!(verify(&secrets, b"{}", Some(&sign("new", b"{}"))), Ok(()));
        assert_eq!(
            verify(&secrets, b"{}", Some(&sign("other", b"{}"))),
            Err(HmacError::Mismatch)
        );
    }

    #[test]
    fn malformed_and_missing_headers() {
        let secrets = [SecretString::from("k")];
        assert_eq!(verify(&secrets, b"{}", None), Err(HmacError::Missing));
        assert_eq!(
            verify(&secrets, b"{}", Some("not base64!")),
            Err(HmacError::Malformed)
        );
        assert_eq!(
            verify(&secrets, b"{}", Some("AAAA")),
            Err(HmacError::Malformed)
        );
    }

    #[test]
    fn no_secret_never_verifies() {
        assert_eq!(
            verify(&[], b"{}", Some(&sign("k", b"{}"))),
            Err(HmacError::Mismatch)
        );
    }
}

//! Shopify's ID token (formerly "session token"): the HS256 JWT App Bridge gives an embedded
//! page, signed with the app's client secret and valid about a minute
//! (`shared/reference/shopify-apps.md` §4.2). Verified by hand: the format is three base64url
//! parts and one HMAC, not worth a JWT library and its algorithm negotiation.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use so_domain::ShopDomain;

/// Clock skew allowed on `exp` and `nbf`, as Shopify's own libraries allow.
pub const LEEWAY_SECS: i64 = 10;

/// Who an ID token says is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbeddedUser {
    /// The shop, from `dest`: the only shop this user may see.
    pub shop: ShopDomain,
    /// The Shopify user id (`sub`), for the audit trail.
    pub user: String,
}

/// Why a token was refused. The detail is safe to show: it names a claim, never a value
/// of the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdTokenError {
    #[error("the ID token is not a JWT (three base64url parts)")]
    Malformed,
    #[error("the ID token's algorithm must be HS256")]
    Algorithm,
    #[error("the ID token's signature does not verify with the app's client secret")]
    Signature,
    #[error("the ID token is for another app (aud is not this app's client id)")]
    Audience,
    #[error("the ID token has expired")]
    Expired,
    #[error("the ID token is not valid yet (nbf)")]
    NotYetValid,
    #[error("the ID token's dest is not a shop's https://<shop>.myshopify.com address")]
    Destination,
    #[error("the ID token's iss and dest name different shops")]
    Issuer,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
}

#[derive(Deserialize)]
struct Claims {
    aud: String,
    dest: String,
    #[serde(default)]
    iss: Option<String>,
    #[serde(default)]
    sub: Option<String>,
    exp: i64,
    nbf: i64,
}

/// Verifies `token` for the app `client_id` signed with `secret`, at `now` (Unix seconds).
/// The signature is checked before anything the payload says is believed.
pub fn verify(
    token: &str,
    client_id: &str,
    secret: &[u8],
    now: i64,
) -> Result<EmbeddedUser, IdTokenError> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(IdTokenError::Malformed);
    };
    let header: Header = decode(h)?;
    if header.alg != "HS256" {
        return Err(IdTokenError::Algorithm);
    }
    let signature = URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| IdTokenError::Malformed)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|_| IdTokenError::Signature)?;
    mac.update(h.as_bytes());
    mac.update(b".");
    mac.update(p.as_bytes());
    // verify_slice compares in constant time.
    mac.verify_slice(&signature)
        .map_err(|_| IdTokenError::Signature)?;
    let claims: Claims = decode(p)?;
    if claims.aud != client_id {
        return Err(IdTokenError::Audience);
    }
    if now > claims.exp + LEEWAY_SECS {
        return Err(IdTokenError::Expired);
    }
    if now + LEEWAY_SECS < claims.nbf {
        return Err(IdTokenError::NotYetValid);
    }
    let host = claims
        .dest
        .strip_prefix("https://")
        .ok_or(IdTokenError::Destination)?;
    let shop = ShopDomain::parse(host).map_err(|_| IdTokenError::Destination)?;
    if let Some(iss) = &claims.iss
        && !iss.starts_with(&format!("https://{host}/"))
    {
        return Err(IdTokenError::Issuer);
    }
    Ok(EmbeddedUser {
        shop,
        user: claims.sub.unwrap_or_default(),
    })
}

fn decode<T: serde::de::DeserializeOwned>(part: &str) -> Result<T, IdTokenError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| IdTokenError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| IdTokenError::Malformed)
}

/// Signs `claims` as Shopify does (HS256): for tests of this crate and of the service.
pub fn sign(claims: &serde_json::Value, secret: &[u8]) -> String {
    let h = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let p = URL_SAFE_NO_PAD.encode(claims.to_string());
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(format!("{h}.{p}").as_bytes());
    let s = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{h}.{p}.{s}")
}

/// The claims of a token for `shop`, valid from `now` for a minute, as App Bridge issues them.
pub fn claims_for(shop: &str, client_id: &str, now: i64) -> serde_json::Value {
    serde_json::json!({
        "iss": format!("https://{shop}/admin"),
        "dest": format!("https://{shop}"),
        "aud": client_id,
        "sub": "42",
        "exp": now + 60,
        "nbf": now,
        "iat": now,
        "jti": "00000000-0000-0000-0000-000000000000",
        "sid": "s1",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"app-client-secret";
    const NOW: i64 = 1_800_000_000;

    fn token(edit: impl FnOnce(&mut serde_json::Value)) -> String {
        let mut c = claims_for("a-shop.myshopify.com", "cid", NOW);
        edit(&mut c);
        sign(&c, SECRET)
    }

    #[test]
    fn a_valid_token_names_its_shop_and_user() {
        let user = verify(&token(|_| {}), "cid", SECRET, NOW + 30).unwrap();
        assert_eq!(user.shop.as_str(), "a-shop.myshopify.com");
        assert_eq!(user.user, "42");
    }

    #[test]
    fn an_expired_token_is_refused_after_the_leeway() {
        let t = token(|_| {});
        assert!(verify(&t, "cid", SECRET, NOW + 60 + LEEWAY_SECS).is_ok());
        assert_eq!(
            verify(&t, "cid", SECRET, NOW + 61 + LEEWAY_SECS),
            Err(IdTokenError::Expired)
        );
    }

    #[test]
    fn a_token_not_yet_valid_is_refused() {
        let t = token(|c| c["nbf"] = (NOW + 60).into());
        assert_eq!(
            verify(&t, "cid", SECRET, NOW),
            Err(IdTokenError::NotYetValid)
        );
    }

    #[test]
    fn a_forged_token_is_refused() {
        let forged = sign(&claims_for("a-shop.myshopify.com", "cid", NOW), b"guess");
        assert_eq!(
            verify(&forged, "cid", SECRET, NOW),
            Err(IdTokenError::Signature)
        );
        // A valid signature moved onto another payload.
        let good = token(|_| {});
        let other = token(|c| c["dest"] = "https://b-shop.myshopify.com".into());
        let (h, rest) = good.split_once('.').unwrap();
        let sig = rest.rsplit_once('.').unwrap().1;
        let payload = other.split('.').nth(1).unwrap();
        assert_eq!(
            verify(&format!("{h}.{payload}.{sig}"), "cid", SECRET, NOW),
            Err(IdTokenError::Signature)
        );
    }

    #[test]
    fn only_hs256_is_accepted() {
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(claims_for("a-shop.myshopify.com", "cid", NOW).to_string())
        );
        assert_eq!(
            verify(&none, "cid", SECRET, NOW),
            Err(IdTokenError::Algorithm)
        );
    }

    #[test]
    fn a_token_for_another_app_is_refused() {
        assert_eq!(
            verify(&token(|_| {}), "other-app", SECRET, NOW),
            Err(IdTokenError::Audience)
        );
    }

    #[test]
    fn dest_must_be_a_shop_and_agree_with_iss() {
        let t = token(|c| c["dest"] = "http://a-shop.myshopify.com".into());
        assert_eq!(
            verify(&t, "cid", SECRET, NOW),
            Err(IdTokenError::Destination)
        );
        let t = token(|c| c["iss"] = "https://b-shop.myshopify.com/admin".into());
        assert_eq!(verify(&t, "cid", SECRET, NOW), Err(IdTokenError::Issuer));
    }

    #[test]
    fn garbage_is_malformed() {
        for t in ["", "a.b", "a.b.c.d", "!!.!!.!!"] {
            assert_eq!(
                verify(t, "cid", SECRET, NOW),
                Err(IdTokenError::Malformed),
                "{t}"
            );
        }
    }
}

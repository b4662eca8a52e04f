//! The checks and addresses of an OAuth install (`shared/reference/shopify-apps.md` §3):
//! the shop hostname rule, the query HMAC of install hits and callbacks, and the authorize
//! URL. Pure functions; the routes are the ingress's.

use std::collections::BTreeMap;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// `^[a-z0-9][a-z0-9-]*\.myshopify\.com$`, compared case-insensitively (§3.3, the production
/// rule). Returns the lower-case hostname.
pub fn valid_shop_hostname(raw: &str) -> Option<String> {
    let lower = raw.to_ascii_lowercase();
    let name = lower.strip_suffix(".myshopify.com")?;
    let mut bytes = name.bytes();
    let first = bytes.next()?;
    let ok = first.is_ascii_alphanumeric()
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    ok.then_some(lower)
}

/// The message Shopify signs: every parameter but `hmac` and `signature`, sorted by key,
/// percent-encoded `key=value` pairs joined with `&` (repeated keys joined with `,`).
pub fn hmac_message(params: &[(String, String)]) -> String {
    let mut sorted: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (k, v) in params {
        if k != "hmac" && k != "signature" {
            sorted.entry(k).or_default().push(v);
        }
    }
    sorted
        .iter()
        .map(|(k, vs)| format!("{}={}", encode(k), encode(&vs.join(","))))
        .collect::<Vec<_>>()
        .join("&")
}

/// Lower-case hex HMAC-SHA256 of `message` under the app's client secret.
pub fn query_hmac(message: &str, client_secret: &str) -> String {
    let mut mac = mac(client_secret);
    mac.update(message.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether `params` carry an `hmac` that signs the others under `client_secret`, compared in
/// constant time.
pub fn verify_query_hmac(params: &[(String, String)], client_secret: &str) -> bool {
    let Some(presented) = params.iter().find(|(k, _)| k == "hmac").map(|(_, v)| v) else {
        return false;
    };
    let Some(presented) = from_hex(presented) else {
        return false;
    };
    let mut mac = mac(client_secret);
    mac.update(hmac_message(params).as_bytes());
    mac.verify_slice(&presented).is_ok()
}

/// `https://{shop}/admin/oauth/authorize?…` (or under `base` for tests), for an offline token:
/// no `grant_options[]`.
pub fn authorize_url(
    base: &str,
    client_id: &str,
    scopes: &str,
    redirect_uri: &str,
    state: &str,
) -> String {
    format!(
        "{}/admin/oauth/authorize?client_id={}&scope={}&redirect_uri={}&state={}",
        base.trim_end_matches('/'),
        encode(client_id),
        encode(scopes),
        encode(redirect_uri),
        encode(state)
    )
}

fn mac(secret: &str) -> Hmac<Sha256> {
    <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length")
}

/// Form encoding with a space as `%20` (§3.2): unreserved characters stay as they are.
fn encode(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for b in raw.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(char::from(b));
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_reference_test_vector_verifies() {
        let expected = "4712bf92ffc2917d15a2f5a273e39f0116667419aa4b6ac0b3baaf26fa3c4d20";
        let params = pairs(&[
            ("shop", "some-shop.myshopify.com"),
            ("hmac", expected),
            ("code", "0907a61c0c8d55e99db179b68161bc00"),
            ("timestamp", "1337178173"),
        ]);
        assert_eq!(
            hmac_message(&params),
            "code=0907a61c0c8d55e99db179b68161bc00&shop=some-shop.myshopify.com&timestamp=1337178173"
        );
        assert_eq!(query_hmac(&hmac_message(&params), "hush"), expected);
        assert!(verify_query_hmac(&params, "hush"));
        assert!(!verify_query_hmac(&params, "hush2"));
        let mut forged = params.clone();
        forged[0].1 = "other-shop.myshopify.com".to_owned();
        assert!(!verify_query_hmac(&forged, "hush"));
        let mut bad_hex = params;
        bad_hex[1].1 = "zz".to_owned();
        assert!(!verify_query_hmac(&bad_hex, "hush"));
        assert!(!verify_query_hmac(&pairs(&[("shop", "x")]), "hush"));
    }

    #[test]
    fn values_are_percent_encoded_with_space_as_percent_20() {
        let params = pairs(&[("b", "a b"), ("a", "x/y=z&"), ("signature", "s")]);
        assert_eq!(hmac_message(&params), "a=x%2Fy%3Dz%26&b=a%20b");
    }

    #[test]
    fn shop_hostnames_follow_the_production_rule() {
        assert_eq!(
            valid_shop_hostname("Acme-2.MyShopify.com").as_deref(),
            Some("acme-2.myshopify.com")
        );
        for bad in [
            "",
            ".myshopify.com",
            "-acme.myshopify.com",
            "acme_x.myshopify.com",
            "acme.myshopify.com.evil.com",
            "evil.com/acme.myshopify.com",
            "acme.shopify.com",
            "a.b.myshopify.com",
            "acme.myshopify.com:443",
        ] {
            assert_eq!(valid_shop_hostname(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_authorize_url_asks_for_an_offline_token() {
        let url = authorize_url(
            "https://acme.myshopify.com/",
            "cid",
            "read_orders,read_customers",
            "https://so.example/shopify/callback",
            "n1",
        );
        assert_eq!(
            url,
            "https://acme.myshopify.com/admin/oauth/authorize?client_id=cid&scope=read_orders%2Cread_customers&redirect_uri=https%3A%2F%2Fso.example%2Fshopify%2Fcallback&state=n1"
        );
        assert!(!url.contains("grant_options"));
    }
}

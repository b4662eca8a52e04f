//! Serializing secrets masked, for printing the effective configuration
//! (`check-config`) straight from the settings types.
//!
//! `SecretString` is deliberately not `Serialize`, so a settings type that
//! derives `Serialize` does not compile until each secret field names one of
//! these serializers (`#[serde(serialize_with = "...")]`): a new secret
//! cannot reach the output unmasked by omission.

use secrecy::{ExposeSecret, SecretString};
use serde::Serializer;

/// Only the last four characters of a secret of reasonable length: enough
/// to tell which one is configured, too little to use it.
pub fn mask(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() < 12 {
        return "****".to_owned();
    }
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("****{tail}")
}

/// `scheme://user:****@host/...`: the password never leaves the process,
/// the rest of the URL stays readable.
pub fn mask_url_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = rest
        .split_once('/')
        .map_or((rest, None), |(a, p)| (a, Some(p)));
    let masked_authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            format!("{user}:****@{host}")
        }
        None => authority.to_owned(),
    };
    match path {
        Some(p) => format!("{scheme}://{masked_authority}/{p}"),
        None => format!("{scheme}://{masked_authority}"),
    }
}

/// A secret as [`mask`] shows it.
pub fn masked<S: Serializer>(secret: &SecretString, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&mask(secret.expose_secret()))
}

/// An optional secret as [`mask`] shows it; unset stays `null`.
#[allow(clippy::ref_option)] // serde's `serialize_with` passes `&Option<T>`.
pub fn masked_opt<S: Serializer>(secret: &Option<SecretString>, s: S) -> Result<S::Ok, S::Error> {
    match secret {
        Some(v) => masked(v, s),
        None => s.serialize_none(),
    }
}

/// A URL that may carry a password, as [`mask_url_password`] shows it.
pub fn masked_url<S: Serializer>(url: &SecretString, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&mask_url_password(url.expose_secret()))
}

#[cfg(test)]
mod tests {
    use serde::Serialize;

    use super::*;

    #[test]
    fn masks_all_but_the_tail() {
        assert_eq!(mask("shpss_0123456789abcdef"), "****cdef");
        assert_eq!(mask("short"), "****");
    }

    #[test]
    fn url_passwords_are_masked() {
        assert_eq!(
            mask_url_password("amqp://guest:guest@127.0.0.1:5672/%2f"),
            "amqp://guest:****@127.0.0.1:5672/%2f"
        );
        assert_eq!(
            mask_url_password("postgres://so:pw@db"),
            "postgres://so:****@db"
        );
        assert_eq!(
            mask_url_password("sqlite://data/x.db?mode=rwc"),
            "sqlite://data/x.db?mode=rwc"
        );
    }

    #[derive(Serialize)]
    struct Section {
        #[serde(serialize_with = "masked")]
        key: SecretString,
        #[serde(serialize_with = "masked_opt")]
        token: Option<SecretString>,
        #[serde(serialize_with = "masked_opt")]
        unset: Option<SecretString>,
        #[serde(serialize_with = "masked_url")]
        url: SecretString,
    }

    #[test]
    fn serializers_never_write_the_secret() {
        let s = Section {
            key: "marker-key-0001".into(),
            token: Some("marker-token-0002".into()),
            unset: None,
            url: "amqp://u:marker-password@h/%2f".into(),
        };
        let json = serde_json::to_string(&s).unwrap();
        assert!(!json.contains("marker"), "{json}");
        assert_eq!(
            json,
            r#"{"key":"****0001","token":"****0002","unset":null,"url":"amqp://u:****@h/%2f"}"#
        );
    }
}

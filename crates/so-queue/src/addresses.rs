//! Broker addresses: the `amqp.urls` list (a TOML array, or one
//! comma-separated string as an environment variable carries it), masked
//! output, and the `host:port` a log line may name.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::ser::{SerializeSeq, Serializer};
use so_domain::serde_secret::mask_url_password;

/// `amqp.urls` from an array or a comma-separated string; blanks dropped.
pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<SecretString>, D::Error> {
    d.deserialize_any(ListVisitor)
}

/// Each URL with its password masked, as `check-config` prints it.
#[allow(clippy::ptr_arg)] // serde's `serialize_with` passes `&Vec<T>`.
pub(crate) fn serialize_masked<S: Serializer>(
    urls: &Vec<SecretString>,
    s: S,
) -> Result<S::Ok, S::Error> {
    let mut seq = s.serialize_seq(Some(urls.len()))?;
    for url in urls {
        seq.serialize_element(&mask_url_password(url.expose_secret()))?;
    }
    seq.end()
}

/// `host:port` of an AMQP URI: what a log line may say about an address
/// (never the credentials).
pub(crate) fn host_of(uri: &str) -> &str {
    let rest = uri.split_once("://").map_or(uri, |(_, r)| r);
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host)
}

struct ListVisitor;

impl<'de> Visitor<'de> for ListVisitor {
    type Value = Vec<SecretString>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of AMQP URIs or a comma-separated string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(v.split(',').filter_map(non_blank).collect())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(s) = seq.next_element::<String>()? {
            out.extend(non_blank(&s));
        }
        Ok(out)
    }
}

fn non_blank(s: &str) -> Option<SecretString> {
    let s = s.trim();
    (!s.is_empty()).then(|| SecretString::from(s.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_of_drops_credentials_path_and_query() {
        assert_eq!(
            host_of("amqp://u:p@rabbit-2:5672/%2f?heartbeat=10"),
            "rabbit-2:5672"
        );
        assert_eq!(host_of("amqps://rabbit:5671"), "rabbit:5671");
        assert_eq!(host_of("amqp://u:p@h?heartbeat=1"), "h");
    }
}

//! Secret values from configuration: never printed, never logged.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Serialize, Serializer};
use so_domain::serde_secret::mask;

/// A list of secrets given either as a TOML array or as one comma-separated
/// string (the form an environment variable can carry), used for webhook
/// secret rotation: any of them verifies. Serializes only masked.
#[derive(Clone, Default)]
pub struct SecretList(pub Vec<SecretString>);

impl fmt::Debug for SecretList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretList([{} redacted])", self.0.len())
    }
}

impl SecretList {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn as_slice(&self) -> &[SecretString] {
        &self.0
    }

    /// `"****wxyz"` per secret: enough to tell which one is configured.
    pub fn masked(&self) -> Vec<String> {
        self.0.iter().map(|s| mask(s.expose_secret())).collect()
    }
}

/// The masked form is the only one there is, so no field holding a list of
/// secrets can print them.
impl Serialize for SecretList {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.masked().serialize(s)
    }
}

struct ListVisitor;

impl<'de> Visitor<'de> for ListVisitor {
    type Value = SecretList;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of secrets or a comma-separated string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<SecretList, E> {
        Ok(SecretList(
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| SecretString::from(s.to_owned()))
                .collect(),
        ))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<SecretList, E> {
        self.visit_str(&v.to_string())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<SecretList, E> {
        self.visit_str(&v.to_string())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<SecretList, A::Error> {
        let mut out = Vec::new();
        while let Some(s) = seq.next_element::<String>()? {
            if !s.trim().is_empty() {
                out.push(SecretString::from(s.trim().to_owned()));
            }
        }
        Ok(SecretList(out))
    }
}

impl<'de> serde::Deserialize<'de> for SecretList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ListVisitor)
    }
}

/// Deserializes an optional secret from any scalar, since an environment
/// variable holding digits arrives as a number.
pub fn optional_secret<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SecretString>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<SecretString>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a secret string")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            let v = v.trim();
            Ok((!v.is_empty()).then(|| SecretString::from(v.to_owned())))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            self.visit_str(&v.to_string())
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            self.visit_str(&v.to_string())
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(V)
        }
    }
    d.deserialize_any(V)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_masked() {
        let l = SecretList(vec![SecretString::from("shpss_0123456789abcdef")]);
        assert_eq!(serde_json::to_string(&l).unwrap(), r#"["****cdef"]"#);
    }

    #[test]
    fn debug_never_shows_secrets() {
        let l = SecretList(vec![SecretString::from("topsecretvalue")]);
        assert!(!format!("{l:?}").contains("topsecret"));
    }
}

//! A shop's settings as the store holds them: JSON without its secrets (those stay in the TOML
//! file and the environment until an encrypted credential store holds them), and back.

use serde_json::Value;

use crate::ShopSettings;

/// Keys of secrets, by path; never written to the store.
const SECRET_KEYS: [&[&str]; 4] = [
    &["webhook_secrets"],
    &["ometria", "api_key"],
    &["admin", "access_token"],
    &["admin", "client_secret"],
];

/// `settings` as stored: every key but the secrets.
pub fn to_stored(settings: &ShopSettings) -> Value {
    // Serializing cannot fail: plain data, secrets masked by their serializers.
    let mut value = serde_json::to_value(settings).unwrap_or(Value::Null);
    for path in SECRET_KEYS {
        remove(&mut value, path);
    }
    value
}

/// Whether `value` names a secret (the API cannot set them yet): the first such key.
pub fn secret_key_in(value: &Value) -> Option<String> {
    SECRET_KEYS
        .iter()
        .find(|path| lookup(value, path).is_some_and(|v| !v.is_null()))
        .map(|path| path.join("."))
}

/// Settings from their stored form; secrets unset (the deployment-wide ones apply).
pub fn from_stored(value: &Value) -> Result<ShopSettings, serde_json::Error> {
    serde_json::from_value(value.clone())
}

fn lookup<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(value, |v, key| v.get(key))
}

fn remove(value: &mut Value, path: &[&str]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut cur = value;
    for key in parents {
        match cur.get_mut(*key) {
            Some(next) => cur = next,
            None => return,
        }
    }
    if let Some(map) = cur.as_object_mut() {
        map.remove(*last);
    }
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;

    #[test]
    fn secrets_never_reach_the_stored_form_and_the_rest_round_trips() {
        let mut s = ShopSettings {
            namespace: "uk".to_owned(),
            ..ShopSettings::default()
        };
        s.ometria.api_key = Some(SecretString::from("key-123"));
        s.admin.access_token = Some(SecretString::from("shpat_abc"));
        s.lists.subscribers = vec![7];
        let stored = to_stored(&s);
        let text = stored.to_string();
        assert!(!text.contains("key-123") && !text.contains("shpat_abc"));
        assert!(!text.contains("api_key") && !text.contains("access_token"));
        assert_eq!(secret_key_in(&stored), None);
        let back = from_stored(&stored).unwrap();
        assert_eq!(back.namespace, "uk");
        assert_eq!(back.lists.subscribers, vec![7]);
        assert!(back.ometria.api_key.is_none());
        let with_secret = serde_json::json!({"admin": {"access_token": "x"}});
        assert_eq!(
            secret_key_in(&with_secret).as_deref(),
            Some("admin.access_token")
        );
    }
}

//! A shop's settings as the store holds them: JSON whose secrets (a store-managed shop's
//! Ometria key, webhook secrets, Admin API secrets) are sealed under `sealed` with the key of
//! the OAuth tokens (`database.secrets_key`), never in the clear; and back. A TOML shop's
//! secrets stay in the file and the environment and are never written.

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};
use so_store::Sealer;

use crate::ShopSettings;
use crate::secrets::SecretList;

/// The key under which a stored shop's sealed secrets live, by dotted path.
pub const SEALED: &str = "sealed";

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

/// Whether `value` names a secret: the first such key.
pub fn secret_key_in(value: &Value) -> Option<String> {
    SECRET_KEYS
        .iter()
        .find(|path| lookup(value, path).is_some_and(|v| !v.is_null()))
        .map(|path| path.join("."))
}

/// Settings from their stored form; secrets unset (the deployment-wide ones apply).
pub fn from_stored(value: &Value) -> Result<ShopSettings, serde_json::Error> {
    let mut plain = value.clone();
    if let Some(map) = plain.as_object_mut() {
        map.remove(SEALED);
    }
    serde_json::from_value(plain)
}

/// Settings from their stored form with their sealed secrets opened; an error names what
/// could not be read (never a value).
pub fn from_stored_sealed(
    value: &Value,
    sealer: Option<&Sealer>,
    domain: &str,
) -> Result<ShopSettings, String> {
    let mut settings = from_stored(value).map_err(|e| e.to_string())?;
    let Some(sealed) = value.get(SEALED).and_then(Value::as_object) else {
        return Ok(settings);
    };
    if sealed.is_empty() {
        return Ok(settings);
    }
    let sealer = sealer.ok_or("its secrets are sealed and database.secrets_key is not set")?;
    for (path, text) in sealed {
        let text = text
            .as_str()
            .ok_or_else(|| format!("{SEALED}.{path}: not text"))?;
        let plain = sealer
            .open_text(text, &context(domain, path))
            .map_err(|e| format!("{SEALED}.{path}: {e}"))?;
        match path.as_str() {
            "webhook_secrets" => {
                let list: Vec<String> = serde_json::from_str(&plain)
                    .map_err(|_| format!("{SEALED}.{path}: not a list"))?;
                settings.webhook_secrets =
                    SecretList(list.into_iter().map(SecretString::from).collect());
            }
            "ometria.api_key" => settings.ometria.api_key = Some(SecretString::from(plain)),
            "admin.access_token" => settings.admin.access_token = Some(SecretString::from(plain)),
            "admin.client_secret" => settings.admin.client_secret = Some(SecretString::from(plain)),
            other => return Err(format!("{SEALED}.{other}: not a secret setting")),
        }
    }
    Ok(settings)
}

/// What binds a sealed secret to its shop and key: one moved elsewhere does not open.
fn context(domain: &str, path: &str) -> String {
    format!("shop-secret:{domain}:{path}")
}

/// The secrets of `parsed` (settings as written), sealed under `stored[SEALED]`. A secret the
/// write left out keeps its sealed value from `previous` (secrets are never shown, so a
/// client cannot send them back); one written as `null` is removed; one written with the
/// value it had keeps its sealed text, so an unchanged write is no new version.
pub fn seal_secrets(
    stored: &mut Value,
    written: &Value,
    parsed: &ShopSettings,
    previous: Option<&Value>,
    sealer: &Sealer,
    domain: &str,
) {
    let before = previous
        .and_then(|p| p.get(SEALED))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut sealed = Map::new();
    for path in SECRET_KEYS {
        let name = path.join(".");
        let plain = match lookup(written, path) {
            // Left out: as it was.
            None => {
                if let Some(old) = before.get(&name) {
                    sealed.insert(name, old.clone());
                }
                continue;
            }
            Some(Value::Null) => continue,
            Some(_) => match secret_text(parsed, &name) {
                Some(text) => text,
                None => continue,
            },
        };
        let context = context(domain, &name);
        let unchanged = before
            .get(&name)
            .and_then(Value::as_str)
            .filter(|old| sealer.open_text(old, &context).is_ok_and(|o| o == plain));
        let text = match unchanged {
            Some(old) => old.to_owned(),
            None => sealer.seal(plain.as_bytes(), &context),
        };
        sealed.insert(name, Value::String(text));
    }
    if let Some(map) = stored.as_object_mut() {
        if sealed.is_empty() {
            map.remove(SEALED);
        } else {
            map.insert(SEALED.to_owned(), Value::Object(sealed));
        }
    }
}

/// Re-seals under the current key every secret of `stored` sealed under an earlier one
/// (`secrets rotate`); `true` when any changed.
pub fn reseal_secrets(stored: &mut Value, sealer: &Sealer, domain: &str) -> Result<bool, String> {
    let Some(sealed) = stored.get_mut(SEALED).and_then(Value::as_object_mut) else {
        return Ok(false);
    };
    let mut changed = false;
    for (path, text) in sealed.iter_mut() {
        let Some(old) = text.as_str() else {
            continue;
        };
        if let Some(new) = sealer
            .reseal(old, &context(domain, path))
            .map_err(|e| format!("shop {domain}, {SEALED}.{path}: {e}"))?
        {
            *text = Value::String(new);
            changed = true;
        }
    }
    Ok(changed)
}

/// The clear text of the secret at `name` in `settings`, `None` when unset.
fn secret_text(settings: &ShopSettings, name: &str) -> Option<String> {
    let one = |s: &Option<SecretString>| s.as_ref().map(|s| s.expose_secret().to_owned());
    match name {
        "webhook_secrets" => (!settings.webhook_secrets.is_empty()).then(|| {
            let list: Vec<&str> = settings
                .webhook_secrets
                .as_slice()
                .iter()
                .map(ExposeSecret::expose_secret)
                .collect();
            serde_json::to_string(&list).unwrap_or_default()
        }),
        "ometria.api_key" => one(&settings.ometria.api_key),
        "admin.access_token" => one(&settings.admin.access_token),
        "admin.client_secret" => one(&settings.admin.client_secret),
        _ => None,
    }
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

    fn sealer() -> Sealer {
        let key = so_store::SealingKey::from_bytes(&[7; 32]).unwrap();
        Sealer::new(key, vec![]).unwrap()
    }

    #[test]
    fn secrets_are_sealed_kept_when_left_out_and_removed_with_null() {
        let sealer = sealer();
        let written =
            serde_json::json!({"ometria": {"api_key": "own-key-1"}, "webhook_secrets": ["hook-1"]});
        let parsed = from_stored(&written).unwrap();
        let mut stored = to_stored(&parsed);
        seal_secrets(
            &mut stored,
            &written,
            &parsed,
            None,
            &sealer,
            "a.myshopify.com",
        );
        let text = stored.to_string();
        assert!(
            !text.contains("own-key-1") && !text.contains("hook-1"),
            "{text}"
        );
        let back = from_stored_sealed(&stored, Some(&sealer), "a.myshopify.com").unwrap();
        assert_eq!(back.ometria.api_key.unwrap().expose_secret(), "own-key-1");
        assert_eq!(back.webhook_secrets.as_slice()[0].expose_secret(), "hook-1");
        // Another shop's context does not open them; no key: not served.
        assert!(from_stored_sealed(&stored, Some(&sealer), "b.myshopify.com").is_err());
        assert!(from_stored_sealed(&stored, None, "a.myshopify.com").is_err());
        // The same value again: the same sealed text (no new version).
        let mut again = to_stored(&parsed);
        seal_secrets(
            &mut again,
            &written,
            &parsed,
            Some(&stored),
            &sealer,
            "a.myshopify.com",
        );
        assert_eq!(again, stored);
        // Left out: kept; null: removed.
        let later = serde_json::json!({"namespace": "uk:", "webhook_secrets": null});
        // The API parses a secret written as null as unset.
        let parsed = from_stored(&serde_json::json!({"namespace": "uk:"})).unwrap();
        let mut next = to_stored(&parsed);
        seal_secrets(
            &mut next,
            &later,
            &parsed,
            Some(&stored),
            &sealer,
            "a.myshopify.com",
        );
        let back = from_stored_sealed(&next, Some(&sealer), "a.myshopify.com").unwrap();
        assert!(back.ometria.api_key.is_some());
        assert!(back.webhook_secrets.is_empty());
    }

    #[test]
    fn rotation_reseals_a_shops_secrets_under_the_new_key() {
        let old = sealer();
        let written = serde_json::json!({"ometria": {"api_key": "own-key-2"}});
        let parsed = from_stored(&written).unwrap();
        let mut stored = to_stored(&parsed);
        seal_secrets(
            &mut stored,
            &written,
            &parsed,
            None,
            &old,
            "a.myshopify.com",
        );
        let new_key = so_store::SealingKey::from_bytes(&[9; 32]).unwrap();
        let old_key = so_store::SealingKey::from_bytes(&[7; 32]).unwrap();
        let rotating = Sealer::new(new_key, vec![old_key]).unwrap();
        assert!(reseal_secrets(&mut stored, &rotating, "a.myshopify.com").unwrap());
        assert!(!reseal_secrets(&mut stored, &rotating, "a.myshopify.com").unwrap());
        let only_new =
            Sealer::new(so_store::SealingKey::from_bytes(&[9; 32]).unwrap(), vec![]).unwrap();
        let back = from_stored_sealed(&stored, Some(&only_new), "a.myshopify.com").unwrap();
        assert_eq!(back.ometria.api_key.unwrap().expose_secret(), "own-key-2");
    }
}

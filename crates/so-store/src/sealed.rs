//! Secrets sealed at rest: XChaCha20-Poly1305 under a key from the environment
//! (`database.secrets_key`), with older keys kept for opening only so the key can be rotated
//! without a flag day. Generic over bytes: OAuth tokens use it today, other per-shop secrets
//! may later.
//!
//! A sealed value is text, `v1.<key id>.<base64(nonce ‖ ciphertext ‖ tag)>`: the key id tells
//! which key opens it (and which rows [`Store::rotate_sealed`](crate::Store) must re-seal),
//! and is derived from the key itself so no id needs configuring. Each value is bound to its
//! place (`context`, e.g. the table, column and shop) as associated data, so a sealed token
//! copied into another shop's row does not open.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};

/// Bytes of a sealing key (256 bits).
pub const SEALING_KEY_BYTES: usize = 32;
const NONCE_BYTES: usize = 24;
const FORMAT: &str = "v1";

/// Why a key or a sealed value was refused. Never carries key or plaintext material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("a sealing key must be {SEALING_KEY_BYTES} bytes, base64-encoded")]
    KeyFormat,
    #[error("the sealing keys include the same key twice")]
    DuplicateKey,
    #[error("the sealed value is not in the v1.<key id>.<data> form")]
    Malformed,
    /// Sealed under a key that is neither the current nor a previous one.
    #[error("the sealed value names key {0}, which is not configured")]
    UnknownKey(String),
    /// Wrong key material under a known id, a changed value, or a value moved to another place.
    #[error("the sealed value does not open: tampered with, or moved from another row")]
    Forged,
}

/// One 256-bit key. `Debug` shows only its id.
#[derive(Clone)]
pub struct SealingKey {
    id: String,
    cipher: XChaCha20Poly1305,
}

impl SealingKey {
    /// Standard base64 (with or without padding) of exactly 32 bytes.
    pub fn from_base64(text: &str) -> Result<SealingKey, SealError> {
        let text = text.trim();
        let raw = STANDARD
            .decode(text)
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(text))
            .map_err(|_| SealError::KeyFormat)?;
        SealingKey::from_bytes(&raw)
    }

    pub fn from_bytes(raw: &[u8]) -> Result<SealingKey, SealError> {
        if raw.len() != SEALING_KEY_BYTES {
            return Err(SealError::KeyFormat);
        }
        let digest = Sha256::new()
            .chain_update(b"so-store sealing key id\0")
            .chain_update(raw)
            .finalize();
        let id = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
        let cipher = XChaCha20Poly1305::new_from_slice(raw).map_err(|_| SealError::KeyFormat)?;
        Ok(SealingKey { id, cipher })
    }

    /// 12 hex digits derived from the key (not secret: it cannot be turned back into the key).
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SealingKey({}, ****)", self.id)
    }
}

/// The current key, which seals, and previous keys, which only open.
#[derive(Debug, Clone)]
pub struct Sealer {
    current: SealingKey,
    previous: Vec<SealingKey>,
}

impl Sealer {
    pub fn new(current: SealingKey, previous: Vec<SealingKey>) -> Result<Sealer, SealError> {
        let mut ids: Vec<&str> = previous.iter().map(SealingKey::id).collect();
        ids.push(current.id());
        ids.sort_unstable();
        if ids.windows(2).any(|w| w[0] == w[1]) {
            return Err(SealError::DuplicateKey);
        }
        Ok(Sealer { current, previous })
    }

    /// The id new values are sealed under.
    pub fn current_id(&self) -> &str {
        self.current.id()
    }

    /// Seals `plain` for the place `context` with a fresh random nonce.
    pub fn seal(&self, plain: &[u8], context: &str) -> String {
        let nonce_bytes: [u8; NONCE_BYTES] = rand::random();
        let nonce = XNonce::from_slice(&nonce_bytes);
        let payload = Payload {
            msg: plain,
            aad: context.as_bytes(),
        };
        let sealed = self
            .current
            .cipher
            .encrypt(nonce, payload)
            .expect("XChaCha20-Poly1305 seals any message below 256 GiB");
        let mut data = nonce_bytes.to_vec();
        data.extend_from_slice(&sealed);
        format!(
            "{FORMAT}.{}.{}",
            self.current.id(),
            URL_SAFE_NO_PAD.encode(data)
        )
    }

    /// Opens a value sealed for `context` under any configured key.
    pub fn open(&self, sealed: &str, context: &str) -> Result<Vec<u8>, SealError> {
        let (key_id, data) = parse(sealed)?;
        let key = self.key(key_id)?;
        if data.len() < NONCE_BYTES {
            return Err(SealError::Malformed);
        }
        let (nonce, body) = data.split_at(NONCE_BYTES);
        let payload = Payload {
            msg: body,
            aad: context.as_bytes(),
        };
        key.cipher
            .decrypt(XNonce::from_slice(nonce), payload)
            .map_err(|_| SealError::Forged)
    }

    /// [`Sealer::open`] for text secrets.
    pub fn open_text(&self, sealed: &str, context: &str) -> Result<String, SealError> {
        String::from_utf8(self.open(sealed, context)?).map_err(|_| SealError::Forged)
    }

    /// Whether `sealed` was sealed under another key than the current one.
    pub fn is_stale(&self, sealed: &str) -> bool {
        parse(sealed).map_or(true, |(id, _)| id != self.current.id())
    }

    /// Opens under the old key and seals under the current one; `None` when already current.
    pub fn reseal(&self, sealed: &str, context: &str) -> Result<Option<String>, SealError> {
        if !self.is_stale(sealed) {
            return Ok(None);
        }
        let plain = self.open(sealed, context)?;
        Ok(Some(self.seal(&plain, context)))
    }

    fn key(&self, id: &str) -> Result<&SealingKey, SealError> {
        std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.id() == id)
            .ok_or_else(|| SealError::UnknownKey(id.to_owned()))
    }
}

fn parse(sealed: &str) -> Result<(&str, Vec<u8>), SealError> {
    let mut parts = sealed.splitn(3, '.');
    let (Some(FORMAT), Some(id), Some(data)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(SealError::Malformed);
    };
    let data = URL_SAFE_NO_PAD
        .decode(data)
        .map_err(|_| SealError::Malformed)?;
    Ok((id, data))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(fill: u8) -> SealingKey {
        SealingKey::from_bytes(&[fill; 32]).unwrap()
    }

    #[test]
    fn round_trip_hides_the_plaintext_and_binds_the_context() {
        let sealer = Sealer::new(key(1), vec![]).unwrap();
        let sealed = sealer.seal(b"shpat_secret_token", "shop_tokens.access:a");
        assert!(!sealed.contains("shpat"), "{sealed}");
        assert!(sealed.starts_with(&format!("v1.{}.", sealer.current_id())));
        assert_ne!(
            sealed,
            sealer.seal(b"shpat_secret_token", "shop_tokens.access:a")
        );
        assert_eq!(
            sealer.open_text(&sealed, "shop_tokens.access:a").unwrap(),
            "shpat_secret_token"
        );
        assert_eq!(
            sealer.open(&sealed, "shop_tokens.access:b"),
            Err(SealError::Forged)
        );
        let mut tampered = sealed;
        let last = tampered.pop().unwrap();
        tampered.push(if last == 'A' { 'B' } else { 'A' });
        assert!(sealer.open(&tampered, "shop_tokens.access:a").is_err());
        assert_eq!(sealer.open("plain", "x"), Err(SealError::Malformed));
    }

    #[test]
    fn a_wrong_key_does_not_open() {
        let sealed = Sealer::new(key(1), vec![]).unwrap().seal(b"x", "c");
        let other = Sealer::new(key(2), vec![]).unwrap();
        assert!(matches!(
            other.open(&sealed, "c"),
            Err(SealError::UnknownKey(_))
        ));
        // Same id forged onto another key's output.
        let mine = other.seal(b"x", "c");
        let swapped = mine.replacen(other.current_id(), key(1).id(), 1);
        let first = Sealer::new(key(1), vec![]).unwrap();
        assert_eq!(first.open(&swapped, "c"), Err(SealError::Forged));
    }

    #[test]
    fn rotation_opens_old_values_and_reseals_them_under_the_new_key() {
        let old = Sealer::new(key(1), vec![]).unwrap();
        let sealed = old.seal(b"refresh", "c");
        let new = Sealer::new(key(2), vec![key(1)]).unwrap();
        assert!(new.is_stale(&sealed));
        assert_eq!(new.open(&sealed, "c").unwrap(), b"refresh");
        let resealed = new.reseal(&sealed, "c").unwrap().unwrap();
        assert!(!new.is_stale(&resealed));
        assert_eq!(new.reseal(&resealed, "c").unwrap(), None);
        let only_new = Sealer::new(key(2), vec![]).unwrap();
        assert_eq!(only_new.open(&resealed, "c").unwrap(), b"refresh");
        assert!(only_new.open(&sealed, "c").is_err());
    }

    #[test]
    fn keys_are_checked_and_never_shown() {
        assert_eq!(
            SealingKey::from_base64("c2hvcnQ=").unwrap_err(),
            SealError::KeyFormat
        );
        assert_eq!(
            SealingKey::from_base64("not base64!").unwrap_err(),
            SealError::KeyFormat
        );
        let text = STANDARD.encode([7_u8; 32]);
        let k = SealingKey::from_base64(&text).unwrap();
        assert_eq!(k.id().len(), 12);
        assert!(!format!("{k:?}").contains(&text[..8]));
        assert_eq!(
            Sealer::new(key(3), vec![key(3)]).unwrap_err(),
            SealError::DuplicateKey
        );
    }
}

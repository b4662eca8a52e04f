//! HMAC verification never panics, accepts exactly the right signature
//! (under any of the configured secrets) and refuses every other header.
#![no_main]

use libfuzzer_sys::fuzz_target;
use secrecy::SecretString;
use so_shopify::{HmacError, sign, verify};

fuzz_target!(|data: &[u8]| {
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let n = usize::from(n % 64).min(rest.len());
    let (secret, body) = rest.split_at(n);
    let secret = String::from_utf8_lossy(secret).into_owned();
    let secrets = vec![
        SecretString::from("other-secret".to_owned()),
        SecretString::from(secret.clone()),
    ];
    let good = sign(&secret, body);
    assert_eq!(verify(&secrets, body, Some(&good)), Ok(()));
    // The body itself as a header: at best malformed, never a match unless
    // it happens to be the signature.
    let header = String::from_utf8_lossy(body);
    match verify(&secrets, body, Some(&header)) {
        Ok(()) => assert_eq!(header.trim(), good),
        Err(HmacError::Missing) => unreachable!("a header was given"),
        Err(_) => {}
    }
    // Any flipped bit of the digest fails.
    let mut raw = good.into_bytes();
    let i = usize::from(data[0]) % raw.len();
    raw[i] = if raw[i] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(raw).unwrap_or_default();
    assert!(verify(&secrets, body, Some(&flipped)).is_err() || flipped == sign(&secret, body));
});

//! Masking customer PII in Shopify payloads shown to operators (dead-letter
//! inspection). Ids, amounts, timestamps and codes stay readable so that an
//! operator can still tell why a message failed; names, contact details,
//! addresses, notes and free text do not.

use serde_json::Value;

/// Keys whose string values are personal data in Shopify payloads.
const PII_KEYS: &[&str] = &[
    "email",
    "contact_email",
    "customer_email",
    "phone",
    "sms_phone",
    "first_name",
    "last_name",
    "name",
    "company",
    "address1",
    "address2",
    "city",
    "zip",
    "latitude",
    "longitude",
    "note",
    "browser_ip",
    "client_ip",
    "recovery_url",
    "abandoned_checkout_url",
    "landing_site",
    "referring_site",
    "token",
    "cart_token",
];

/// Objects under these keys hold a person's address or billing details:
/// every string in them is masked, whatever its key.
const PII_OBJECTS: &[&str] = &[
    "billing_address",
    "shipping_address",
    "default_address",
    "addresses",
    "client_details",
    "note_attributes",
];

/// `name` is a person's name in customer and address objects but a product
/// or line-item title elsewhere; these keys mark an object as a line item,
/// product or shipping line, whose `name` is kept.
const ITEM_MARKERS: &[&str] = &["product_id", "variant_id", "sku", "price_set", "code"];

/// Masks personal data in `value` in place.
pub fn mask_json(value: &mut Value) {
    mask(value, false);
}

fn mask(value: &mut Value, inside_pii_object: bool) {
    match value {
        Value::Object(map) => {
            let is_item = ITEM_MARKERS.iter().any(|k| map.contains_key(*k));
            for (key, v) in map.iter_mut() {
                let key = key.as_str();
                if PII_OBJECTS.contains(&key) {
                    mask(v, true);
                } else if inside_pii_object
                    || (PII_KEYS.contains(&key) && !(key == "name" && is_item))
                {
                    mask_leaf_or_recurse(v);
                } else {
                    mask(v, false);
                }
            }
        }
        Value::Array(items) => {
            for v in items {
                mask(v, inside_pii_object);
            }
        }
        Value::String(s) if inside_pii_object || looks_like_email(s) => *s = mask_str(s),
        _ => {}
    }
}

fn mask_leaf_or_recurse(v: &mut Value) {
    match v {
        Value::String(s) => *s = mask_str(s),
        Value::Number(_) => *v = Value::String("***".to_owned()),
        Value::Object(_) | Value::Array(_) => mask(v, true),
        _ => {}
    }
}

fn looks_like_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty() && domain.contains('.') && !s.contains(char::is_whitespace)
}

/// `jane@example.com` -> `j***@e***.com`; anything else -> first character
/// and `***` (empty strings stay empty).
pub fn mask_str(s: &str) -> String {
    if s.is_empty() {
        return String::new();
    }
    if looks_like_email(s) {
        let (local, domain) = s.split_once('@').unwrap_or((s, ""));
        let tld = domain.rsplit_once('.').map_or("", |(_, t)| t);
        return format!("{}***@{}***.{tld}", first(local), first(domain));
    }
    format!("{}***", first(s))
}

/// Free text from outside (an Ometria error message) made fit to show: quoted values, email
/// addresses and words of six or more digits (phone numbers) are masked, the rest kept, so
/// `invalid email 'jane@example.com'` reads `invalid email '***'`.
pub fn mask_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut open: Option<char> = None;
    let mut run = String::new();
    for c in s.chars() {
        let closes = open == Some(c);
        let opens = open.is_none() && (c == '\'' || c == '"');
        if !(closes || opens) {
            run.push(c);
            continue;
        }
        if closes {
            out.push_str(if run.is_empty() { "" } else { "***" });
            open = None;
        } else {
            out.push_str(&mask_words(&run));
            open = Some(c);
        }
        run.clear();
        out.push(c);
    }
    // An unclosed quote masks the rest.
    match open {
        Some(_) if !run.is_empty() => out.push_str("***"),
        Some(_) => {}
        None => out.push_str(&mask_words(&run)),
    }
    out
}

/// Masks the email addresses and long digit runs among whitespace-separated words.
fn mask_words(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        let digits = word.chars().filter(char::is_ascii_digit).count();
        let trimmed = word.trim_matches(|c: char| !c.is_alphanumeric());
        if looks_like_email(trimmed) || digits >= 6 {
            out.push_str("***");
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in s.chars() {
        if c.is_whitespace() {
            flush(&mut word, &mut out);
            out.push(c);
        } else {
            word.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

fn first(s: &str) -> String {
    s.chars().next().map(String::from).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn free_text_keeps_the_reason_and_masks_values() {
        assert_eq!(
            mask_text("invalid email 'jane@example.com' at @.email"),
            "invalid email '***' at @.email"
        );
        assert_eq!(
            mask_text("bad phone +44 7700900123, or jane@example.com."),
            "bad phone +44 *** or ***"
        );
        assert_eq!(
            mask_text("name \"Jane Doe\" too long"),
            "name \"***\" too long"
        );
        assert_eq!(mask_text("unterminated 'Jane"), "unterminated '***");
        assert_eq!(mask_text("field is required"), "field is required");
    }

    #[test]
    fn masks_people_and_keeps_what_explains_a_failure() {
        let mut order = json!({
            "id": 820982911946154508u64,
            "email": "jon@example.com",
            "total_price": "199.00",
            "note": "leave at the back door",
            "customer": {"id": 115310627314723954u64, "first_name": "John", "last_name": "Smith",
                         "email": "john@example.com", "phone": "+447700900123"},
            "billing_address": {"address1": "1 Main St", "city": "Ottawa", "country_code": "CA"},
            "line_items": [{"name": "IPod Nano - 8GB", "product_id": 632910392, "price": "199.00"}],
            "tags": "vip",
            "contact": "someone@example.org"
        });
        mask_json(&mut order);
        assert_eq!(order["id"], json!(820982911946154508u64));
        assert_eq!(order["email"], "j***@e***.com");
        assert_eq!(order["total_price"], "199.00");
        assert_eq!(order["note"], "l***");
        assert_eq!(order["customer"]["id"], json!(115310627314723954u64));
        assert_eq!(order["customer"]["first_name"], "J***");
        assert_eq!(order["customer"]["phone"], "+***");
        assert_eq!(order["billing_address"]["address1"], "1***");
        assert_eq!(order["billing_address"]["country_code"], "C***");
        assert_eq!(order["line_items"][0]["name"], "IPod Nano - 8GB");
        assert_eq!(order["contact"], "s***@e***.org");
        let text = order.to_string();
        for secret in [
            "jon@",
            "John",
            "Smith",
            "john@",
            "900123",
            "Main St",
            "back door",
        ] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
    }

    #[test]
    fn masks_nested_emails_and_leaves_plain_text() {
        let mut v = json!({"a": [{"b": {"customer_email": "x@y.io"}}], "c": "not an email"});
        mask_json(&mut v);
        assert_eq!(v["a"][0]["b"]["customer_email"], "x***@y***.io");
        assert_eq!(v["c"], "not an email");
    }
}

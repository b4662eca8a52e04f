//! Shop identity.

use std::fmt;

/// A store's `*.myshopify.com` domain, lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ShopDomain(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be a `<name>.myshopify.com` domain (letters, digits and `-` in the name)")]
pub struct InvalidShopDomain;

impl ShopDomain {
    pub fn parse(raw: &str) -> Result<ShopDomain, InvalidShopDomain> {
        let lower = raw.trim().to_ascii_lowercase();
        let name = lower
            .strip_suffix(".myshopify.com")
            .ok_or(InvalidShopDomain)?;
        let valid = !name.is_empty()
            && name.len() <= 100
            && !name.starts_with('-')
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if valid {
            Ok(ShopDomain(lower))
        } else {
            Err(InvalidShopDomain)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ShopDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_myshopify_domains_case_insensitively() {
        assert_eq!(
            ShopDomain::parse("My-Shop.myshopify.com").unwrap().as_str(),
            "my-shop.myshopify.com"
        );
    }

    #[test]
    fn refuses_other_hosts_and_injection() {
        for bad in [
            "example.com",
            ".myshopify.com",
            "a b.myshopify.com",
            "x.myshopify.com.evil.com",
            "-x.myshopify.com",
        ] {
            assert!(ShopDomain::parse(bad).is_err(), "{bad}");
        }
    }
}

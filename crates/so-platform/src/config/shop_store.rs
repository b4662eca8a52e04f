//! A shop's storefront as Ometria shows it (`storefront_url`, `store`,
//! `currency` of `[shops."<domain>"]`): the public URL product links are
//! built on, the Ometria `store` of its records, and its currency.

use super::ShopSettings;

/// Invalid storefront values of `shop`, each naming its key relative to the
/// shop.
pub(super) fn problems(shop: &ShopSettings) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(url) = &shop.storefront_url
        && !is_base_url(url)
    {
        out.push(
            "storefront_url must be an http(s) URL without query or fragment, e.g. https://shop.example.com"
                .to_owned(),
        );
    }
    if let Some(store) = &shop.store
        && (store.trim().is_empty() || store.chars().count() > 255)
    {
        out.push("store must be 1-255 characters".to_owned());
    }
    if let Some(c) = &shop.currency
        && !(c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()))
    {
        out.push("currency must be an ISO 4217 code of three capital letters, e.g. GBP".to_owned());
    }
    out
}

/// `http(s)://host[/path]`, with no query, fragment or spaces: product
/// links are this plus `/products/<handle>`.
fn is_base_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    rest.is_some_and(|r| {
        let host = r.split('/').next().unwrap_or_default();
        !host.is_empty() && !r.contains(['?', '#', ' '])
    })
}

//! A webhook body can only be looked at once its signature checked out.

use std::marker::PhantomData;

use bytes::Bytes;
use secrecy::SecretString;
use so_domain::ShopDomain;

use crate::HmacError;

/// Marker: signature not yet checked.
#[derive(Debug)]
pub struct Unverified;
/// Marker: signature matched one of the shop's secrets.
#[derive(Debug)]
pub struct Verified;

/// The raw body of a webhook for `shop`, exactly as received.
#[derive(Debug)]
pub struct RawWebhook<State> {
    shop: ShopDomain,
    body: Bytes,
    _state: PhantomData<State>,
}

impl RawWebhook<Unverified> {
    pub fn new(shop: ShopDomain, body: Bytes) -> Self {
        RawWebhook {
            shop,
            body,
            _state: PhantomData,
        }
    }

    /// Checks the signature against the shop's secrets.
    pub fn verify(
        self,
        secrets: &[SecretString],
        signature: Option<&str>,
    ) -> Result<RawWebhook<Verified>, HmacError> {
        crate::hmac::verify(secrets, &self.body, signature)?;
        Ok(RawWebhook {
            shop: self.shop,
            body: self.body,
            _state: PhantomData,
        })
    }
}

impl RawWebhook<Verified> {
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    pub fn shop(&self) -> &ShopDomain {
        &self.shop
    }
}

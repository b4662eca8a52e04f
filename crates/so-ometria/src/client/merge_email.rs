//! `POST /v2/merge-profile` by email: joins the contact that owns an email
//! into a customer's profile.
//!
//! Under Ometria's post-2024 rule the first contact to carry an identifier
//! keeps it, so a customer whose listing was pushed before a guest listing
//! with the customer's (new) email can never take that email by a push.
//! Merging the email's owner into the customer (`customers_to_merge` by
//! `email_address`) deletes the guest listing and moves its history to the
//! customer; the email is then free for the customer's listing. Same lane as
//! [`Client::merge_profiles`]: one request a minute, never a wait.

use reqwest::header::{ACCEPT, CONTENT_TYPE};

use super::{Client, MergeError};
use crate::wire::AUTH_HEADER;

impl Client {
    /// Asks Ometria to merge the contact that owns `email` into the profile of
    /// `survivor_customer_id`. The email goes to Ometria only in the body.
    pub async fn merge_email_into_customer(
        &self,
        survivor_customer_id: &str,
        email: &str,
    ) -> Result<(), MergeError> {
        self.merge_limiter.try_acquire().map_err(MergeError::Busy)?;
        let body = serde_json::json!({
            "survivor": {"type": "customer_id", "value": survivor_customer_id},
            "customers_to_merge": [{"type": "email_address", "value": email}],
        });
        let response = self
            .http
            .post(&self.merge_url)
            .header(AUTH_HEADER, self.auth.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json")
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| MergeError::Failed(crate::error::Error::from_send(e)))?;
        self.check_status(response, &self.merge_limiter)
            .await
            .map(|_| ())
            .map_err(MergeError::Failed)
    }
}

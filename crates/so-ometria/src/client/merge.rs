//! `POST /v2/merge-profile`: the one-request-a-minute lane that joins
//! contacts into a customer's profile (an asynchronous job at Ometria).
//!
//! Under Ometria's post-2024 rule the first contact to carry an identifier
//! keeps it, so a customer whose listing was pushed before a guest listing
//! with the customer's (new) email can never take that email by a push.
//! Merging the email's owner into the customer (`customers_to_merge` by
//! `email_address`) deletes the guest listing and moves its history to the
//! customer; the email is then free for the customer's listing. Each call
//! is one attempt, never a wait: a busy lane or a failure goes back to the
//! caller to retry through the broker.

use serde_json::{Value, json};

use super::{Client, MergeError};
use crate::error::{Error, InvalidRequest};

/// Ometria's limit on `customers_to_merge`.
const MAX_MERGED: usize = 5;

impl Client {
    /// Merges the listings of `merged_customer_ids` (at most five) into the
    /// survivor's profile.
    pub async fn merge_profiles(
        &self,
        survivor_customer_id: &str,
        merged_customer_ids: &[String],
    ) -> Result<(), MergeError> {
        let reason = match merged_customer_ids.len() {
            0 => Some(InvalidRequest::Empty),
            n if n > MAX_MERGED => Some(InvalidRequest::TooManyRecords(n)),
            _ => None,
        };
        if let Some(reason) = reason {
            return Err(MergeError::Failed(Error::InvalidRequest { reason }));
        }
        let merged = merged_customer_ids
            .iter()
            .map(|id| json!({"type": "customer_id", "value": id}))
            .collect();
        self.request_merge(survivor_customer_id, merged).await
    }

    /// Merges the contact that owns `email` into the profile of
    /// `survivor_customer_id`. The email goes to Ometria only in the body.
    pub async fn merge_email_into_customer(
        &self,
        survivor_customer_id: &str,
        email: &str,
    ) -> Result<(), MergeError> {
        let merged = vec![json!({"type": "email_address", "value": email})];
        self.request_merge(survivor_customer_id, merged).await
    }

    async fn request_merge(
        &self,
        survivor_customer_id: &str,
        customers_to_merge: Vec<Value>,
    ) -> Result<(), MergeError> {
        self.merge_limiter.try_acquire().map_err(MergeError::Busy)?;
        let body = json!({
            "survivor": {"type": "customer_id", "value": survivor_customer_id},
            "customers_to_merge": customers_to_merge,
        });
        let response = self
            .post_json(self.merge_url.as_str(), body.to_string().into_bytes())
            .send()
            .await
            .map_err(|e| MergeError::Failed(Error::from_send(e)))?;
        self.check_status(response, &self.merge_limiter)
            .await
            .map(|_| ())
            .map_err(MergeError::Failed)
    }
}

//! Privacy requests (`customers/redact`, `customers/data_request`,
//! `shop/redact`) and the shop lifecycle (`app/uninstalled`).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use so_domain::identity::NormalisedEmail;
use so_domain::mapping::OrderState;
use so_domain::{ShopDomain, ShopifyId};
use sqlx::{AnyConnection, Row};

use crate::codec::{id_to_db, time_from_db, time_to_db};
use crate::connect::Store;
use crate::error::Result;

/// A redacted email, as stored: SHA-256 of the normalised address, hex.
pub fn email_fingerprint(email: &NormalisedEmail) -> String {
    Sha256::digest(email.as_str().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A shop's lifecycle state, when it is not plain installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShopStatus {
    /// `app/uninstalled`: its events are parked, not processed.
    Uninstalled,
    /// `shop/redact`: everything held for it was deleted.
    Redacted,
}

impl ShopStatus {
    fn as_str(self) -> &'static str {
        match self {
            ShopStatus::Uninstalled => "uninstalled",
            ShopStatus::Redacted => "redacted",
        }
    }
}

/// One Ometria data-deletion request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErasureRow {
    pub shop: ShopDomain,
    pub fingerprint: String,
    pub customer_id: Option<ShopifyId>,
    /// Ometria's request id (`None`: there was no email to erase by).
    pub ometria_id: Option<String>,
    pub requested_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

/// Tables keyed by (shop, contact) that hold a redacted person's rows.
const CONTACT_TABLES: [&str; 5] = [
    "held_record",
    "contact_subscription",
    "behaviour_dirty",
    "checkout",
    "consent_set",
];

/// Every table with a `shop` column.
const SHOP_TABLES: [&str; 21] = [
    "ledger",
    "watermark",
    "customer_status",
    "guest",
    "order_state",
    "customer_tags",
    "product_variants",
    "delivery",
    "contact_subscription",
    "held_record",
    "checkout",
    "behaviour_dirty",
    "suppressed_email",
    "erasure_request",
    "sync_state",
    "backfill_checkpoint",
    "consent_decision",
    "shop_state",
    "data_export",
    "product_known",
    "consent_set",
];

impl Store {
    /// Erases what the store holds about one person: guests with their
    /// email or linked to them, their tags, held records, subscription,
    /// checkouts and pending attribute updates (by Ometria contact ids);
    /// orders lose their contact link. Then suppresses them: the customer
    /// id is marked redacted and the email's fingerprint kept, so a late
    /// webhook or a backfill does not bring them back. Idempotent.
    pub async fn redact_person(
        &self,
        shop: &ShopDomain,
        customer_id: Option<ShopifyId>,
        email: Option<&NormalisedEmail>,
        contacts: &[String],
        at: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        if let Some(id) = customer_id {
            crate::identity::mark_redacted(&mut tx, shop, id).await?;
            // An export is a copy of what is being erased.
            crate::exports::delete_of_customer(&mut tx, shop, id).await?;
        }
        if let Some(email) = email {
            sqlx::query("DELETE FROM guest WHERE shop = $1 AND email = $2")
                .bind(shop.as_str())
                .bind(email.as_str())
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO suppressed_email (shop, fingerprint, since) VALUES ($1, $2, $3) \
                 ON CONFLICT (shop, fingerprint) DO NOTHING",
            )
            .bind(shop.as_str())
            .bind(email_fingerprint(email))
            .bind(time_to_db(at))
            .execute(&mut *tx)
            .await?;
        }
        for contact in contacts {
            for table in CONTACT_TABLES {
                sqlx::query(&format!(
                    "DELETE FROM {table} WHERE shop = $1 AND contact = $2"
                ))
                .bind(shop.as_str())
                .bind(contact.as_str())
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query("UPDATE order_state SET contact = NULL WHERE shop = $1 AND contact = $2")
                .bind(shop.as_str())
                .bind(contact.as_str())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn email_suppressed(
        &self,
        shop: &ShopDomain,
        email: &NormalisedEmail,
    ) -> Result<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM suppressed_email WHERE shop = $1 AND fingerprint = $2",
        )
        .bind(shop.as_str())
        .bind(email_fingerprint(email))
        .fetch_one(&self.pool)
        .await?;
        Ok(n > 0)
    }

    /// Records an erasure request (or that none could be made), once per
    /// person: a repeat keeps the first.
    pub async fn record_erasure(
        &self,
        shop: &ShopDomain,
        fingerprint: &str,
        customer_id: Option<ShopifyId>,
        ometria_id: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO erasure_request (shop, fingerprint, customer_id, ometria_id, requested_at, completed_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (shop, fingerprint) DO NOTHING",
        )
        .bind(shop.as_str())
        .bind(fingerprint)
        .bind(customer_id.map(id_to_db).transpose()?)
        .bind(ometria_id)
        .bind(time_to_db(at))
        // Without an Ometria request there is nothing to wait for.
        .bind(ometria_id.is_none().then(|| time_to_db(at)))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn erasure(
        &self,
        shop: &ShopDomain,
        fingerprint: &str,
    ) -> Result<Option<ErasureRow>> {
        let rows = sqlx::query(&format!(
            "{ERASURE_COLUMNS} WHERE shop = $1 AND fingerprint = $2"
        ))
        .bind(shop.as_str())
        .bind(fingerprint)
        .fetch_all(&self.pool)
        .await?;
        Ok(erasure_rows(&rows)?.into_iter().next())
    }

    /// Requests Ometria has not reported completed yet, oldest first.
    pub async fn open_erasures(&self) -> Result<Vec<ErasureRow>> {
        let rows = sqlx::query(&format!(
            "{ERASURE_COLUMNS} WHERE completed_at IS NULL ORDER BY requested_at"
        ))
        .fetch_all(&self.pool)
        .await?;
        erasure_rows(&rows)
    }
}

const ERASURE_COLUMNS: &str = "SELECT shop, fingerprint, customer_id, ometria_id, requested_at, completed_at FROM erasure_request";

fn erasure_rows(rows: &[sqlx::any::AnyRow]) -> Result<Vec<ErasureRow>> {
    rows.iter()
        .map(|r| {
            let shop: String = r.try_get(0)?;
            Ok(ErasureRow {
                shop: ShopDomain::parse(&shop).map_err(|_| crate::Error::Corrupt {
                    what: "erasure_request.shop",
                    source: None,
                })?,
                fingerprint: r.try_get(1)?,
                customer_id: r
                    .try_get::<Option<i64>, _>(2)?
                    .map(|v| crate::codec::id_from_db(v, "erasure_request.customer_id"))
                    .transpose()?,
                ometria_id: r.try_get(3)?,
                requested_at: time_from_db(r.try_get(4)?, "erasure_request.requested_at")?,
                completed_at: r
                    .try_get::<Option<i64>, _>(5)?
                    .map(|v| time_from_db(v, "erasure_request.completed_at"))
                    .transpose()?,
            })
        })
        .collect()
}

impl Store {
    pub async fn complete_erasure(
        &self,
        shop: &ShopDomain,
        fingerprint: &str,
        at: DateTime<Utc>,
        summary: Option<&str>,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE erasure_request SET completed_at = $3, summary = $4 \
             WHERE shop = $1 AND fingerprint = $2 AND completed_at IS NULL",
        )
        .bind(shop.as_str())
        .bind(fingerprint)
        .bind(time_to_db(at))
        .bind(summary)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// `shop/redact`: deletes every row held for the shop, then remembers
    /// that it was redacted.
    pub async fn redact_shop(&self, shop: &ShopDomain, at: DateTime<Utc>) -> Result<()> {
        let mut tx = self.begin_write().await?;
        for table in SHOP_TABLES {
            sqlx::query(&format!("DELETE FROM {table} WHERE shop = $1"))
                .bind(shop.as_str())
                .execute(&mut *tx)
                .await?;
        }
        put_shop_state(&mut tx, shop, Some(ShopStatus::Redacted), at).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets (or with `None` clears) a shop's lifecycle state.
    pub async fn set_shop_status(
        &self,
        shop: &ShopDomain,
        status: Option<ShopStatus>,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let mut conn = self.pool.acquire().await?;
        put_shop_state(&mut conn, shop, status, at).await
    }

    /// The shop's lifecycle state and when it changed.
    pub async fn shop_status(
        &self,
        shop: &ShopDomain,
    ) -> Result<Option<(ShopStatus, DateTime<Utc>)>> {
        let row = sqlx::query("SELECT status, changed_at FROM shop_state WHERE shop = $1")
            .bind(shop.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            let status: String = r.try_get(0)?;
            let status = match status.as_str() {
                "uninstalled" => ShopStatus::Uninstalled,
                _ => ShopStatus::Redacted,
            };
            Ok((
                status,
                time_from_db(r.try_get(1)?, "shop_state.changed_at")?,
            ))
        })
        .transpose()
    }

    /// `customers/data_request`: everything this store holds about one
    /// person, as JSON (the merchant passes it on to the customer).
    pub async fn export_person(
        &self,
        shop: &ShopDomain,
        customer_id: Option<ShopifyId>,
        email: Option<&NormalisedEmail>,
        contacts: &[String],
    ) -> Result<Value> {
        let mut orders: Vec<OrderState> = Vec::new();
        let mut held = Vec::new();
        let mut checkouts = Vec::new();
        let mut subscriptions = Vec::new();
        for c in contacts {
            orders.extend(self.orders_of_contact(shop, c).await?);
            for r in self.held_records(shop, c).await? {
                held.push(json!({"type": r.record_type.as_str(), "id": r.id, "record": r.body}));
            }
            if let Some(row) = self.checkout_of_contact(shop, c).await? {
                checkouts.push(row);
            }
            if let Some(s) = self.subscription(shop, c).await? {
                subscriptions.push(json!({"contact": c, "subscribed": s}));
            }
        }
        let guest = match email {
            Some(e) => self
                .guest_for_email(shop, e)
                .await?
                .map(|g| g.as_str().to_owned()),
            None => None,
        };
        let tags = match customer_id {
            Some(id) => Some(self.customer_tags(shop, id).await?),
            None => None,
        };
        let mut deliveries = Vec::new();
        for c in contacts {
            if let Some(at) = self.last_delivery(shop, "contact", c).await? {
                deliveries
                    .push(json!({"record_type": "contact", "ometria_id": c, "delivered_at": at}));
            }
        }
        Ok(json!({
            "shop": shop.as_str(),
            "customer_id": customer_id.map(|id| id.to_string()),
            "email": email.map(NormalisedEmail::as_str),
            "guest_id": guest,
            "ometria_contact_ids": contacts,
            "tags": tags,
            "email_subscriptions": subscriptions,
            "orders": orders,
            "held_records": held,
            "checkouts": checkouts,
            "deliveries": deliveries,
        }))
    }

    async fn checkout_of_contact(&self, shop: &ShopDomain, contact: &str) -> Result<Option<Value>> {
        let rows = sqlx::query(
            "SELECT token, version, completed, notified_version FROM checkout \
             WHERE shop = $1 AND contact = $2",
        )
        .bind(shop.as_str())
        .bind(contact)
        .fetch_all(&self.pool)
        .await?;
        let list: Vec<Value> = rows
            .iter()
            .map(|r| {
                Ok(json!({
                    "token": r.try_get::<String, _>(0)?,
                    "updated_at": time_from_db(r.try_get(1)?, "checkout.version")?,
                    "completed": r.try_get::<i64, _>(2)? != 0,
                    "abandonment_sent_for": r
                        .try_get::<Option<i64>, _>(3)?
                        .map(|v| time_from_db(v, "checkout.notified_version"))
                        .transpose()?,
                }))
            })
            .collect::<Result<_>>()?;
        Ok((!list.is_empty()).then_some(Value::Array(list)))
    }
}

async fn put_shop_state(
    conn: &mut AnyConnection,
    shop: &ShopDomain,
    status: Option<ShopStatus>,
    at: DateTime<Utc>,
) -> Result<()> {
    match status {
        Some(s) => {
            sqlx::query(
                "INSERT INTO shop_state (shop, status, changed_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (shop) DO UPDATE SET status = excluded.status, changed_at = excluded.changed_at",
            )
            .bind(shop.as_str())
            .bind(s.as_str())
            .bind(time_to_db(at))
            .execute(conn)
            .await?;
        }
        None => {
            sqlx::query("DELETE FROM shop_state WHERE shop = $1")
                .bind(shop.as_str())
                .execute(conn)
                .await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_sha256_hex_of_the_normalised_email() {
        let e = so_domain::identity::normalise_email(" Jon@Example.com ").unwrap();
        let f = email_fingerprint(&e);
        assert_eq!(f.len(), 64);
        assert_eq!(
            f,
            email_fingerprint(&so_domain::identity::normalise_email("jon@example.com").unwrap())
        );
    }
}

//! State of the merchant-configurable sync: a contact's orders (for its
//! behavioural attributes), its email subscription and held-back records
//! (subscribers-only shops), and checkouts (abandonment events).

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use so_domain::ShopDomain;
use so_domain::mapping::{Buyer, OrderState};
use so_domain::ometria::{PushRecord, RecordType};
use sqlx::{AnyConnection, Row};

use crate::codec::{from_json, time_from_db, time_to_db, to_json};
use crate::connect::Store;
use crate::error::{Error, Result};

/// What the store knows about one checkout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutRow {
    /// `updated_at` of the newest version seen.
    pub version: DateTime<Utc>,
    pub contact: Option<String>,
    /// Completed (an order) or deleted: never abandoned.
    pub completed: bool,
    /// The version an abandonment event was last sent for.
    pub notified_version: Option<DateTime<Utc>>,
}

/// A change to a checkout row, part of a [`crate::Commit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckoutChange {
    /// A version was seen; the row only moves forward.
    Seen {
        token: String,
        /// The cart token the version carried, so a delete naming only it
        /// finds the checkout.
        cart_token: Option<String>,
        version: DateTime<Utc>,
        contact: Option<String>,
    },
    /// It became an order, or was deleted.
    Completed { token: String },
    /// Its abandonment event for `version` was accepted by Ometria.
    Notified {
        token: String,
        version: DateTime<Utc>,
    },
}

/// A change to the held-back records, part of a [`crate::Commit`]; applied
/// in the order the events were processed.
#[derive(Debug, Clone, PartialEq)]
pub enum HeldChange {
    Hold {
        contact: String,
        record: PushRecord,
        at: DateTime<Utc>,
    },
    /// The contact subscribed and its records were sent.
    Release { contact: String },
}

/// A contact whose behavioural attributes need sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirtyContact {
    pub shop: ShopDomain,
    pub buyer: Buyer,
    /// Clears only this mark: a later change marks it again.
    pub seq: i64,
}

impl Store {
    /// Contacts waiting for their attributes, oldest mark first.
    /// `waiting`: shops whose marks wait (paused, or without an Ometria
    /// account); left out so they cannot fill every page.
    pub async fn dirty_contacts(
        &self,
        limit: u32,
        waiting: &[ShopDomain],
    ) -> Result<Vec<DirtyContact>> {
        self.settled_dirty_contacts(limit, waiting, None).await
    }

    /// [`Store::dirty_contacts`], only those last marked before `marked_before` when given: a
    /// contact whose orders are still changing can wait for the rest of its changes and go
    /// out once.
    pub async fn settled_dirty_contacts(
        &self,
        limit: u32,
        waiting: &[ShopDomain],
        marked_before: Option<DateTime<Utc>>,
    ) -> Result<Vec<DirtyContact>> {
        // $1 is the limit, $2 the cutoff (always bound; i64::MAX when none), then the shops.
        let skip = (0..waiting.len())
            .map(|i| format!("${}", i + 3))
            .collect::<Vec<_>>()
            .join(", ");
        let filter = if waiting.is_empty() {
            String::new()
        } else {
            format!("AND shop NOT IN ({skip}) ")
        };
        let sql = format!(
            "SELECT shop, buyer, seq FROM behaviour_dirty WHERE seq < $2 {filter}ORDER BY seq LIMIT $1"
        );
        let cutoff = marked_before.map_or(i64::MAX, time_to_db);
        let mut query = sqlx::query(&sql).bind(i64::from(limit)).bind(cutoff);
        for shop in waiting {
            query = query.bind(shop.as_str());
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                let shop: String = row.try_get(0)?;
                Ok(DirtyContact {
                    shop: ShopDomain::parse(&shop).map_err(|_| Error::Corrupt {
                        what: "behaviour_dirty.shop",
                        source: None,
                    })?,
                    buyer: from_json(&row.try_get::<String, _>(1)?, "behaviour_dirty.buyer")?,
                    seq: row.try_get(2)?,
                })
            })
            .collect()
    }

    /// Every stored order of one contact (by Ometria contact id).
    pub async fn orders_of_contact(
        &self,
        shop: &ShopDomain,
        contact: &str,
    ) -> Result<Vec<OrderState>> {
        let rows: Vec<String> =
            sqlx::query_scalar("SELECT state FROM order_state WHERE shop = $1 AND contact = $2")
                .bind(shop.as_str())
                .bind(contact)
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| from_json(r, "order_state.state"))
            .collect()
    }

    /// The contact's last email subscription state, if one was seen.
    pub async fn subscription(&self, shop: &ShopDomain, contact: &str) -> Result<Option<bool>> {
        let raw: Option<i64> = sqlx::query_scalar(
            "SELECT subscribed FROM contact_subscription WHERE shop = $1 AND contact = $2",
        )
        .bind(shop.as_str())
        .bind(contact)
        .fetch_optional(&self.pool)
        .await?;
        Ok(raw.map(|v| v != 0))
    }

    /// Records held back for `contact`, oldest first.
    pub async fn held_records(&self, shop: &ShopDomain, contact: &str) -> Result<Vec<PushRecord>> {
        let rows = sqlx::query(
            "SELECT record_type, ometria_id, body FROM held_record \
             WHERE shop = $1 AND contact = $2 ORDER BY held_at, record_type, ometria_id",
        )
        .bind(shop.as_str())
        .bind(contact)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let t: String = row.try_get(0)?;
                let record_type = record_type(&t)?;
                let body: Map<String, Value> =
                    from_json(&row.try_get::<String, _>(2)?, "held_record.body")?;
                Ok(PushRecord {
                    record_type,
                    id: row.try_get(1)?,
                    body,
                })
            })
            .collect()
    }

    /// How many contacts have records held back, for metrics and ops.
    pub async fn held_contacts(&self, shop: &ShopDomain) -> Result<u64> {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(DISTINCT contact) FROM held_record WHERE shop = $1")
                .bind(shop.as_str())
                .fetch_one(&self.pool)
                .await?;
        Ok(u64::try_from(n).unwrap_or_default())
    }

    pub async fn checkout(&self, shop: &ShopDomain, token: &str) -> Result<Option<CheckoutRow>> {
        let row = sqlx::query(
            "SELECT version, contact, completed, notified_version FROM checkout \
             WHERE shop = $1 AND token = $2",
        )
        .bind(shop.as_str())
        .bind(token)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(CheckoutRow {
                version: time_from_db(row.try_get(0)?, "checkout.version")?,
                contact: row.try_get(1)?,
                completed: row.try_get::<i64, _>(2)? != 0,
                notified_version: row
                    .try_get::<Option<i64>, _>(3)?
                    .map(|v| time_from_db(v, "checkout.notified_version"))
                    .transpose()?,
            })
        })
        .transpose()
    }

    /// Whether `contact` has a checkout other than `token` updated after
    /// `version`: then that one is the contact's current abandonment.
    pub async fn newer_checkout_of_contact(
        &self,
        shop: &ShopDomain,
        contact: &str,
        token: &str,
        version: DateTime<Utc>,
    ) -> Result<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM checkout \
             WHERE shop = $1 AND contact = $2 AND token <> $3 AND version > $4",
        )
        .bind(shop.as_str())
        .bind(contact)
        .bind(token)
        .bind(time_to_db(version))
        .fetch_one(&self.pool)
        .await?;
        Ok(n > 0)
    }
}

fn record_type(raw: &str) -> Result<RecordType> {
    [
        RecordType::Contact,
        RecordType::Order,
        RecordType::Product,
        RecordType::CustomEvent,
    ]
    .into_iter()
    .find(|t| t.as_str() == raw)
    .ok_or(Error::Corrupt {
        what: "held_record.record_type",
        source: None,
    })
}

pub(crate) async fn put_checkout(
    conn: &mut AnyConnection,
    shop: &ShopDomain,
    change: &CheckoutChange,
) -> Result<()> {
    match change {
        CheckoutChange::Seen {
            token,
            cart_token,
            version,
            contact,
        } => {
            sqlx::query(
                "INSERT INTO checkout (shop, token, version, contact, completed, cart_token) \
                 VALUES ($1, $2, $3, $4, 0, $5) ON CONFLICT (shop, token) DO UPDATE \
                 SET version = excluded.version, contact = excluded.contact, \
                 cart_token = COALESCE(excluded.cart_token, checkout.cart_token) \
                 WHERE excluded.version >= checkout.version",
            )
            .bind(shop.as_str())
            .bind(token.as_str())
            .bind(time_to_db(*version))
            .bind(contact.as_deref())
            .bind(cart_token.as_deref())
            .execute(conn)
            .await?;
        }
        CheckoutChange::Completed { token } => {
            sqlx::query(
                "INSERT INTO checkout (shop, token, version, completed) VALUES ($1, $2, 0, 1) \
                 ON CONFLICT (shop, token) DO UPDATE SET completed = 1",
            )
            .bind(shop.as_str())
            .bind(token.as_str())
            .execute(conn)
            .await?;
        }
        CheckoutChange::Notified { token, version } => {
            sqlx::query(
                "UPDATE checkout SET notified_version = $3 WHERE shop = $1 AND token = $2 \
                 AND (notified_version IS NULL OR notified_version < $3)",
            )
            .bind(shop.as_str())
            .bind(token.as_str())
            .bind(time_to_db(*version))
            .execute(conn)
            .await?;
        }
    }
    Ok(())
}

pub(crate) async fn mark_dirty(
    conn: &mut AnyConnection,
    shop: &ShopDomain,
    buyer: &Buyer,
    at: DateTime<Utc>,
) -> Result<()> {
    // The mark only grows, so a drainer holding an older mark never clears
    // a newer one.
    sqlx::query(
        "INSERT INTO behaviour_dirty (shop, contact, buyer, seq) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (shop, contact) DO UPDATE SET buyer = excluded.buyer, \
         seq = CASE WHEN excluded.seq > behaviour_dirty.seq THEN excluded.seq \
         ELSE behaviour_dirty.seq + 1 END",
    )
    .bind(shop.as_str())
    .bind(buyer.id.as_str())
    .bind(to_json(buyer, "buyer")?)
    .bind(time_to_db(at))
    .execute(conn)
    .await?;
    Ok(())
}

pub(crate) async fn clear_dirty(
    conn: &mut AnyConnection,
    shop: &ShopDomain,
    contact: &str,
    seq: i64,
) -> Result<()> {
    sqlx::query("DELETE FROM behaviour_dirty WHERE shop = $1 AND contact = $2 AND seq = $3")
        .bind(shop.as_str())
        .bind(contact)
        .bind(seq)
        .execute(conn)
        .await?;
    Ok(())
}

pub(crate) async fn put_subscription(
    conn: &mut AnyConnection,
    shop: &ShopDomain,
    contact: &str,
    subscribed: bool,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO contact_subscription (shop, contact, subscribed) VALUES ($1, $2, $3) \
         ON CONFLICT (shop, contact) DO UPDATE SET subscribed = excluded.subscribed",
    )
    .bind(shop.as_str())
    .bind(contact)
    .bind(i64::from(subscribed))
    .execute(conn)
    .await?;
    Ok(())
}

/// Holds `record` for `contact`, merged field by field into what is
/// already held for the same record (as Ometria would merge the pushes).
pub(crate) async fn put_held(
    conn: &mut AnyConnection,
    shop: &ShopDomain,
    change: &HeldChange,
) -> Result<()> {
    match change {
        HeldChange::Hold {
            contact,
            record,
            at,
        } => hold(conn, shop, contact, record, *at).await,
        HeldChange::Release { contact } => release(conn, shop, contact).await,
    }
}

async fn hold(
    conn: &mut AnyConnection,
    shop: &ShopDomain,
    contact: &str,
    record: &PushRecord,
    at: DateTime<Utc>,
) -> Result<()> {
    let t = record.record_type.as_str();
    let existing: Option<String> = sqlx::query_scalar(
        "SELECT body FROM held_record \
         WHERE shop = $1 AND contact = $2 AND record_type = $3 AND ometria_id = $4",
    )
    .bind(shop.as_str())
    .bind(contact)
    .bind(t)
    .bind(record.id.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    let body = match existing {
        Some(raw) => {
            let mut held = PushRecord {
                record_type: record.record_type,
                id: record.id.clone(),
                body: from_json(&raw, "held_record.body")?,
            };
            held.merge(record.clone());
            held.body
        }
        None => record.body.clone(),
    };
    sqlx::query(
        "INSERT INTO held_record (shop, contact, record_type, ometria_id, body, held_at) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (shop, contact, record_type, ometria_id) DO UPDATE SET body = excluded.body",
    )
    .bind(shop.as_str())
    .bind(contact)
    .bind(t)
    .bind(record.id.as_str())
    .bind(to_json(&body, "held record")?)
    .bind(time_to_db(at))
    .execute(conn)
    .await?;
    Ok(())
}

async fn release(conn: &mut AnyConnection, shop: &ShopDomain, contact: &str) -> Result<()> {
    sqlx::query("DELETE FROM held_record WHERE shop = $1 AND contact = $2")
        .bind(shop.as_str())
        .bind(contact)
        .execute(conn)
        .await?;
    Ok(())
}

//! The identity store: guests per (shop, normalised email) and customer statuses.
//!
//! The rules live in `so_domain::identity`; this module loads their snapshot and applies their
//! decisions. Races between workers are settled by the database: the `guest` primary key makes
//! the first `RememberGuest` for an email win, and every write is a single conditional
//! statement, so no read-then-write window is left open between processes.

use so_domain::identity::{
    CustomerListing, CustomerStatus, GuestId, GuestRecord, IdentityDecision, IdentitySnapshot,
    NormalisedEmail,
};
use so_domain::{ShopDomain, ShopifyId};
use sqlx::AnyConnection;

use crate::codec::{id_from_db, id_to_db};
use crate::connect::Store;
use crate::error::{Error, Result};

mod rewrite;

/// `customer_status.status` values; no row means active.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Deleted,
    Redacted,
    Merged,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Deleted => "deleted",
            Status::Redacted => "redacted",
            Status::Merged => "merged",
        }
    }

    fn parse(raw: &str) -> Result<Status> {
        [Status::Deleted, Status::Redacted, Status::Merged]
            .into_iter()
            .find(|s| s.as_str() == raw)
            .ok_or(Error::Corrupt {
                what: "customer_status.status",
                source: None,
            })
    }
}

/// `status, merged_into`, and the status of the customer it was merged into.
pub(crate) type StatusRow = (String, Option<i64>, Option<String>);

/// The status a `customer_status` row (joined with its merge target's) stands for.
pub(crate) fn status_of((status, merged_into, target_status): StatusRow) -> Result<CustomerStatus> {
    Ok(match Status::parse(&status)? {
        Status::Deleted => CustomerStatus::Deleted,
        Status::Redacted => CustomerStatus::Redacted,
        Status::Merged if target_status.as_deref() == Some(Status::Redacted.as_str()) => {
            CustomerStatus::Redacted
        }
        Status::Merged => {
            let kept = merged_into.ok_or(Error::Corrupt {
                what: "customer_status.merged_into",
                source: None,
            })?;
            CustomerStatus::MergedInto(id_from_db(kept, "customer_status.merged_into")?)
        }
    })
}

/// `guest_id, linked_customer, claim`, and that customer's `status, merged_into`.
type GuestRow = (String, Option<i64>, i64, Option<String>, Option<i64>);

/// What [`Store::apply_identity`] did.
#[must_use]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentityApplied {
    Applied,
    /// Another event remembered a guest for this email first. Nothing of the batch was written:
    /// reload the snapshot and decide again, which then resolves to `winner` (or its customer).
    GuestTaken {
        winner: GuestId,
    },
    /// Another event chose the customer's listing first. Nothing of the batch was written:
    /// reload the snapshot and decide again.
    ListingTaken,
}

impl Store {
    /// A fresh random guest id (the domain leaves drawing the bytes to the store).
    pub fn new_guest_id() -> GuestId {
        GuestId::from_random(rand::random())
    }

    /// What the identity rules need for one event: the customer's status and the guest
    /// remembered for the email.
    pub async fn identity_snapshot(
        &self,
        shop: &ShopDomain,
        customer_id: Option<ShopifyId>,
        email: Option<&NormalisedEmail>,
    ) -> Result<IdentitySnapshot> {
        let customer = match customer_id {
            Some(id) => self.customer_status(shop, id).await?,
            None => CustomerStatus::Active,
        };
        // The listing of whoever the event's records go to: the survivor of a merge.
        let listing = match (customer, customer_id) {
            (CustomerStatus::MergedInto(kept), _) => self.listing(shop, kept).await?,
            (_, Some(id)) => self.listing(shop, id).await?,
            (_, None) => None,
        };
        let (guest, email_suppressed) = match email {
            Some(email) => {
                let guest = self.guest_record(shop, email).await?;
                // Redaction deletes the email's guest and no guest is ever
                // remembered for a suppressed email, so only an email
                // without a guest can be suppressed: one query saved on
                // almost every event.
                let suppressed = guest.is_none() && self.email_suppressed(shop, email).await?;
                (guest, suppressed)
            }
            None => (None, false),
        };
        Ok(IdentitySnapshot {
            customer,
            guest,
            email_suppressed,
            listing,
        })
    }

    /// The customer's listing; `None` before its first event chose one.
    async fn listing(&self, shop: &ShopDomain, id: ShopifyId) -> Result<Option<CustomerListing>> {
        let row: Option<Option<String>> = sqlx::query_scalar(
            "SELECT guest_id FROM customer_listing WHERE shop = $1 AND customer_id = $2",
        )
        .bind(shop.as_str())
        .bind(id_to_db(id)?)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|guest| match guest {
            None => Ok(CustomerListing::Own),
            Some(raw) => parse_guest_id(&raw).map(CustomerListing::Guest),
        })
        .transpose()
    }

    /// Follows one redirect, and reports a customer merged into a since-redacted one as
    /// redacted (that person must not be pushed again under either id).
    async fn customer_status(&self, shop: &ShopDomain, id: ShopifyId) -> Result<CustomerStatus> {
        let row: Option<StatusRow> = sqlx::query_as(
            "SELECT s.status, s.merged_into, t.status FROM customer_status s \
             LEFT JOIN customer_status t ON t.shop = s.shop AND t.customer_id = s.merged_into \
             WHERE s.shop = $1 AND s.customer_id = $2",
        )
        .bind(shop.as_str())
        .bind(id_to_db(id)?)
        .fetch_optional(&self.pool)
        .await?;
        row.map_or(Ok(CustomerStatus::Active), status_of)
    }

    /// The guest for `email`. A link is reported only while it points at a live customer
    /// (following a merge): the writes keep it so, and this read keeps the domain's invariant
    /// even if a link raced with a delete.
    async fn guest_record(
        &self,
        shop: &ShopDomain,
        email: &NormalisedEmail,
    ) -> Result<Option<GuestRecord>> {
        let row: Option<GuestRow> = sqlx::query_as(
            "SELECT g.guest_id, g.linked_customer, g.claim, s.status, s.merged_into FROM guest g \
             LEFT JOIN customer_status s ON s.shop = g.shop AND s.customer_id = g.linked_customer \
             WHERE g.shop = $1 AND g.email = $2",
        )
        .bind(shop.as_str())
        .bind(self.guest_key(email)?)
        .fetch_optional(&self.pool)
        .await?;
        let Some((guest_id, linked, claim, status, merged_into)) = row else {
            return Ok(None);
        };
        let linked = match (linked, status.as_deref().map(Status::parse).transpose()?) {
            (Some(id), None) => Some(id),
            (Some(_), Some(Status::Merged)) => merged_into,
            (_, Some(Status::Deleted | Status::Redacted)) | (None, _) => None,
        };
        let linked_customer = linked
            .map(|id| id_from_db(id, "guest.linked_customer"))
            .transpose()?;
        let linked_listing = match linked_customer {
            Some(id) => self.listing(shop, id).await?,
            None => None,
        };
        Ok(Some(GuestRecord {
            guest_id: parse_guest_id(&guest_id)?,
            linked_customer,
            linked_listing,
            claim: claim != 0,
        }))
    }

    pub async fn guest_for_email(
        &self,
        shop: &ShopDomain,
        email: &NormalisedEmail,
    ) -> Result<Option<GuestId>> {
        let raw: Option<String> =
            sqlx::query_scalar("SELECT guest_id FROM guest WHERE shop = $1 AND email = $2")
                .bind(shop.as_str())
                .bind(self.guest_key(email)?)
                .fetch_optional(&self.pool)
                .await?;
        raw.as_deref().map(parse_guest_id).transpose()
    }

    /// Records a customer's claim on its email: a guest row already linked to `customer` with no
    /// listing in Ometria, so a later guest purchase with that email resolves to the customer.
    /// Linked in the same statement, so no purchase can see it unlinked and use its id as a
    /// guest listing. Does nothing if a guest is already remembered for the email (the identity
    /// rules then link that one); returns whichever id is stored.
    pub async fn claim_email(
        &self,
        shop: &ShopDomain,
        email: &NormalisedEmail,
        candidate: &GuestId,
        customer: ShopifyId,
    ) -> Result<GuestId> {
        let stored: String = sqlx::query_scalar(
            "INSERT INTO guest (shop, email, guest_id, claim, linked_customer) \
             VALUES ($1, $2, $3, 1, $4) \
             ON CONFLICT (shop, email) DO UPDATE SET guest_id = guest.guest_id \
             RETURNING guest_id",
        )
        .bind(shop.as_str())
        .bind(self.guest_key(email)?)
        .bind(candidate.as_str())
        .bind(id_to_db(customer)?)
        .fetch_one(&self.pool)
        .await?;
        parse_guest_id(&stored)
    }

    /// Applies the decisions of one event in one transaction (all scoped to `shop`).
    pub async fn apply_identity(
        &self,
        shop: &ShopDomain,
        decisions: &[IdentityDecision],
    ) -> Result<IdentityApplied> {
        if decisions.is_empty() {
            return Ok(IdentityApplied::Applied);
        }
        let mut tx = self.begin_write().await?;
        for decision in decisions {
            match decision {
                IdentityDecision::RememberGuest { email, guest_id } => {
                    let key = self.guest_key(email)?;
                    let winner = remember_guest(&mut tx, shop, &key, guest_id).await?;
                    if &winner != guest_id {
                        tx.rollback().await?;
                        return Ok(IdentityApplied::GuestTaken { winner });
                    }
                }
                IdentityDecision::LinkGuestToCustomer {
                    guest_id,
                    customer_id,
                } => link_guest(&mut tx, shop, guest_id, *customer_id).await?,
                IdentityDecision::RedirectCustomer { from, to } => {
                    redirect(&mut tx, shop, *from, *to).await?;
                }
                IdentityDecision::SetListing {
                    customer_id,
                    listing,
                } => {
                    if !set_listing(&mut tx, shop, *customer_id, listing).await? {
                        tx.rollback().await?;
                        return Ok(IdentityApplied::ListingTaken);
                    }
                }
                IdentityDecision::MarkCustomerDeleted { customer_id } => {
                    mark_deleted(&mut tx, shop, *customer_id).await?;
                }
                IdentityDecision::MarkCustomerRedacted { customer_id } => {
                    mark_redacted(&mut tx, shop, *customer_id).await?;
                }
            }
        }
        tx.commit().await?;
        Ok(IdentityApplied::Applied)
    }
}

impl Store {
    /// Stores a batch's listing choices (each customer's first one) in one write transaction,
    /// instead of one per first-seen customer. Returns the customers whose listing another
    /// event had already chosen differently: the events that used this batch's choice for them
    /// must decide again. Rows are written in (shop, customer) order, so two batches cannot
    /// deadlock each other on PostgreSQL.
    pub async fn set_listings(
        &self,
        choices: &[(ShopDomain, ShopifyId, CustomerListing)],
    ) -> Result<Vec<(ShopDomain, ShopifyId)>> {
        if choices.is_empty() {
            return Ok(Vec::new());
        }
        let mut sorted: Vec<&(ShopDomain, ShopifyId, CustomerListing)> = choices.iter().collect();
        sorted.sort_by(|a, b| (a.0.as_str(), a.1).cmp(&(b.0.as_str(), b.1)));
        let mut tx = self.begin_write().await?;
        let mut lost = Vec::new();
        for (shop, customer, listing) in sorted {
            if !set_listing(&mut tx, shop, *customer, listing).await? {
                lost.push((shop.clone(), *customer));
            }
        }
        tx.commit().await?;
        Ok(lost)
    }
}

fn parse_guest_id(raw: &str) -> Result<GuestId> {
    GuestId::parse(raw).ok_or(Error::Corrupt {
        what: "guest.guest_id",
        source: None,
    })
}

/// Insert-if-absent that also returns the stored id in the same statement. The no-op update
/// on conflict is what makes `RETURNING` yield the existing row; PostgreSQL waits for a
/// concurrent uncommitted insert of the same key first, so the answer is always the winner.
/// `email_key` is the email's fingerprint.
async fn remember_guest(
    conn: &mut AnyConnection,
    shop: &ShopDomain,
    email_key: &str,
    candidate: &GuestId,
) -> Result<GuestId> {
    let stored: String = sqlx::query_scalar(
        "INSERT INTO guest (shop, email, guest_id) VALUES ($1, $2, $3) \
         ON CONFLICT (shop, email) DO UPDATE SET guest_id = guest.guest_id \
         RETURNING guest_id",
    )
    .bind(shop.as_str())
    .bind(email_key)
    .bind(candidate.as_str())
    .fetch_one(conn)
    .await?;
    parse_guest_id(&stored)
}

/// Insert-if-absent; false if a different listing was chosen first (the same one again is a
/// redelivery, and fine).
async fn set_listing(
    conn: &mut AnyConnection,
    shop: &ShopDomain,
    customer_id: ShopifyId,
    listing: &CustomerListing,
) -> Result<bool> {
    let guest = match listing {
        CustomerListing::Own => None,
        CustomerListing::Guest(g) => Some(g.as_str()),
    };
    let id = id_to_db(customer_id)?;
    sqlx::query(
        "INSERT INTO customer_listing (shop, customer_id, guest_id) VALUES ($1, $2, $3) \
         ON CONFLICT (shop, customer_id) DO NOTHING",
    )
    .bind(shop.as_str())
    .bind(id)
    .bind(guest)
    .execute(&mut *conn)
    .await?;
    let stored: Option<String> = sqlx::query_scalar(
        "SELECT guest_id FROM customer_listing WHERE shop = $1 AND customer_id = $2",
    )
    .bind(shop.as_str())
    .bind(id)
    .fetch_one(&mut *conn)
    .await?;
    Ok(stored.as_deref() == guest)
}

/// Set once, and only to a customer without a status row (active), in one statement.
async fn link_guest(
    conn: &mut AnyConnection,
    shop: &ShopDomain,
    guest_id: &GuestId,
    customer_id: ShopifyId,
) -> Result<()> {
    sqlx::query(
        "UPDATE guest SET linked_customer = $3 \
         WHERE shop = $1 AND guest_id = $2 AND linked_customer IS NULL \
         AND NOT EXISTS (SELECT 1 FROM customer_status s WHERE s.shop = $1 AND s.customer_id = $3)",
    )
    .bind(shop.as_str())
    .bind(guest_id.as_str())
    .bind(id_to_db(customer_id)?)
    .execute(conn)
    .await?;
    Ok(())
}

/// `from` → `to`, collapsed so every redirect is one step: if `to` was itself merged away,
/// point at its survivor, and repoint what pointed at `from`. A redaction is never replaced.
async fn redirect(
    conn: &mut AnyConnection,
    shop: &ShopDomain,
    from: ShopifyId,
    to: ShopifyId,
) -> Result<()> {
    let to_db = id_to_db(to)?;
    let from = id_to_db(from)?;
    let onward: Option<Option<i64>> = sqlx::query_scalar(
        "SELECT merged_into FROM customer_status WHERE shop = $1 AND customer_id = $2",
    )
    .bind(shop.as_str())
    .bind(to_db)
    .fetch_optional(&mut *conn)
    .await?;
    let target = onward.flatten().unwrap_or(to_db);
    if target == from {
        // `to` was merged into `from` earlier: recording this one too would make a cycle.
        tracing::warn!(shop = %shop, "Ignored a merge redirect that would form a cycle.");
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO customer_status (shop, customer_id, status, merged_into) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (shop, customer_id) DO UPDATE \
         SET status = excluded.status, merged_into = excluded.merged_into \
         WHERE customer_status.status <> $5",
    )
    .bind(shop.as_str())
    .bind(from)
    .bind(Status::Merged.as_str())
    .bind(target)
    .bind(Status::Redacted.as_str())
    .execute(&mut *conn)
    .await?;
    for sql in [
        "UPDATE customer_status SET merged_into = $3 WHERE shop = $1 AND merged_into = $2",
        "UPDATE guest SET linked_customer = $3 WHERE shop = $1 AND linked_customer = $2",
    ] {
        sqlx::query(sql)
            .bind(shop.as_str())
            .bind(from)
            .bind(target)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Tombstone unless a status exists (a merged-away customer keeps its redirect, a redacted one
/// stays redacted), and unlink guests so links only ever point at live customers.
async fn mark_deleted(conn: &mut AnyConnection, shop: &ShopDomain, id: ShopifyId) -> Result<()> {
    let id = id_to_db(id)?;
    sqlx::query(
        "INSERT INTO customer_status (shop, customer_id, status) VALUES ($1, $2, $3) \
         ON CONFLICT (shop, customer_id) DO NOTHING",
    )
    .bind(shop.as_str())
    .bind(id)
    .bind(Status::Deleted.as_str())
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE guest SET linked_customer = NULL WHERE shop = $1 AND linked_customer = $2")
        .bind(shop.as_str())
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Redaction wins over every other status. It also erases what this store holds about the
/// person: guests linked to them (the only rows with their email) and their tags; customers
/// merged into them become redacted too, as their history now belongs to the erased profile.
pub(crate) async fn mark_redacted(
    conn: &mut AnyConnection,
    shop: &ShopDomain,
    id: ShopifyId,
) -> Result<()> {
    let id = id_to_db(id)?;
    sqlx::query(
        "INSERT INTO customer_status (shop, customer_id, status) VALUES ($1, $2, $3) \
         ON CONFLICT (shop, customer_id) DO UPDATE SET status = excluded.status, merged_into = NULL",
    )
    .bind(shop.as_str())
    .bind(id)
    .bind(Status::Redacted.as_str())
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE customer_status SET status = $3, merged_into = NULL \
         WHERE shop = $1 AND merged_into = $2",
    )
    .bind(shop.as_str())
    .bind(id)
    .bind(Status::Redacted.as_str())
    .execute(&mut *conn)
    .await?;
    for sql in [
        "DELETE FROM guest WHERE shop = $1 AND linked_customer = $2",
        "DELETE FROM customer_tags WHERE shop = $1 AND customer_id = $2",
    ] {
        sqlx::query(sql)
            .bind(shop.as_str())
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

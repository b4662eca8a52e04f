//! Bulk reads behind behavioural attributes: for a page of contacts, everything their
//! attributes are computed from (orders, customer statuses, subscriptions) and their outbox
//! marks, in one round trip per chunk of keys instead of several queries per contact.

use std::collections::HashMap;

use so_domain::identity::CustomerStatus;
use so_domain::mapping::OrderState;
use so_domain::{ShopDomain, ShopifyId};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::bulk::{CHUNK, placeholders};
use crate::codec::{from_json, id_from_db, id_to_db};
use crate::connect::Store;
use crate::error::Result;
use crate::identity::status_of;

impl Store {
    /// The rows of `select` (ending in `WHERE shop = $1 AND <column> IN`) for one chunk of at
    /// most [`CHUNK`] text keys.
    async fn rows_with_texts(
        &self,
        select: &str,
        shop: &ShopDomain,
        keys: &[String],
    ) -> Result<Vec<AnyRow>> {
        let sql = format!("{select} ({})", placeholders(2, keys.len()));
        let mut q = sqlx::query(&sql).bind(shop.as_str());
        for key in keys {
            q = q.bind(key.as_str());
        }
        Ok(q.fetch_all(&self.pool).await?)
    }

    /// The outbox mark (its `seq`) of each of these contacts that has one.
    pub async fn dirty_marks(
        &self,
        shop: &ShopDomain,
        contacts: &[String],
    ) -> Result<HashMap<String, i64>> {
        let mut out = HashMap::new();
        for chunk in contacts.chunks(CHUNK) {
            let select = "SELECT contact, seq FROM behaviour_dirty WHERE shop = $1 AND contact IN";
            for row in self.rows_with_texts(select, shop, chunk).await? {
                out.insert(row.try_get(0)?, row.try_get(1)?);
            }
        }
        Ok(out)
    }

    /// Every stored order of each of these contacts (by Ometria contact id); a contact without
    /// orders is absent.
    pub async fn orders_of_contacts(
        &self,
        shop: &ShopDomain,
        contacts: &[String],
    ) -> Result<HashMap<String, Vec<OrderState>>> {
        let mut out: HashMap<String, Vec<OrderState>> = HashMap::new();
        for chunk in contacts.chunks(CHUNK) {
            let select = "SELECT contact, state FROM order_state WHERE shop = $1 AND contact IN";
            for row in self.rows_with_texts(select, shop, chunk).await? {
                let contact: String = row.try_get(0)?;
                let raw: String = row.try_get(1)?;
                out.entry(contact)
                    .or_default()
                    .push(from_json(&raw, "order_state.state")?);
            }
        }
        Ok(out)
    }

    /// The status of each of these customers that is not active (deleted, redacted, merged
    /// away); an active customer is absent.
    pub async fn customer_statuses(
        &self,
        shop: &ShopDomain,
        customers: &[ShopifyId],
    ) -> Result<HashMap<ShopifyId, CustomerStatus>> {
        let mut out = HashMap::new();
        for chunk in customers.chunks(CHUNK) {
            let ids = chunk
                .iter()
                .map(|id| id_to_db(*id))
                .collect::<Result<Vec<_>>>()?;
            let select = "SELECT s.customer_id, s.status, s.merged_into, t.status \
                 FROM customer_status s LEFT JOIN customer_status t \
                 ON t.shop = s.shop AND t.customer_id = s.merged_into \
                 WHERE s.shop = $1 AND s.customer_id IN";
            for row in self.rows_with_ids(select, shop, &ids).await? {
                let id = id_from_db(row.try_get(0)?, "customer_status.customer_id")?;
                let status = status_of((row.try_get(1)?, row.try_get(2)?, row.try_get(3)?))?;
                out.insert(id, status);
            }
        }
        Ok(out)
    }

    /// The last email subscription state seen of each of these contacts that has one.
    pub async fn subscriptions(
        &self,
        shop: &ShopDomain,
        contacts: &[String],
    ) -> Result<HashMap<String, bool>> {
        let mut out = HashMap::new();
        for chunk in contacts.chunks(CHUNK) {
            let select = "SELECT contact, subscribed FROM contact_subscription WHERE shop = $1 AND contact IN";
            for row in self.rows_with_texts(select, shop, chunk).await? {
                let subscribed: i64 = row.try_get(1)?;
                out.insert(row.try_get(0)?, subscribed != 0);
            }
        }
        Ok(out)
    }
}

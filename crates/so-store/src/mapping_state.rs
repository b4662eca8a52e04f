//! What the mapping remembers across events (migration 0010): checkouts by
//! cart token, products delivered from order lines, and the contacts whose
//! email consent this service set explicitly.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use so_domain::{ShopDomain, ShopifyId};
use sqlx::{AnyConnection, Row};

use crate::bulk::CHUNK;
use crate::codec::{from_json, id_from_db, id_to_db, time_from_db};
use crate::connect::Store;
use crate::error::Result;

/// A product record by its Shopify ids: the parent (`variant: None`) or one
/// variant.
pub type ProductRecordKey = (ShopifyId, Option<ShopifyId>);

/// `variant_id` of a parent product's row.
const PARENT: i64 = 0;

impl Store {
    /// The tokens of the checkouts stored with `cart_token`.
    pub async fn checkout_tokens_by_cart(
        &self,
        shop: &ShopDomain,
        cart_token: &str,
    ) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT token FROM checkout WHERE shop = $1 AND cart_token = $2 ORDER BY token",
        )
        .bind(shop.as_str())
        .bind(cart_token)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Which of `keys` Ometria has: delivered by `products/*` (their
    /// variant lists) or pushed from an order line before. Two queries per
    /// chunk of products, whatever the number of lines.
    pub async fn known_product_records(
        &self,
        shop: &ShopDomain,
        keys: &[ProductRecordKey],
    ) -> Result<HashSet<ProductRecordKey>> {
        let mut products: Vec<ShopifyId> = keys.iter().map(|(p, _)| *p).collect();
        products.sort_unstable();
        products.dedup();
        let mut known = HashSet::new();
        for chunk in products.chunks(CHUNK) {
            let ids = chunk
                .iter()
                .map(|p| id_to_db(*p))
                .collect::<Result<Vec<_>>>()?;
            let select = "SELECT product_id, variant_ids FROM product_variants \
                          WHERE shop = $1 AND product_id IN";
            for row in self.rows_with_ids(select, shop, &ids).await? {
                let product = id_from_db(row.try_get(0)?, "product_variants.product_id")?;
                let raw: String = row.try_get(1)?;
                let variants: Vec<ShopifyId> = from_json(&raw, "product_variants.variant_ids")?;
                known.insert((product, None));
                known.extend(variants.into_iter().map(|v| (product, Some(v))));
            }
            let select = "SELECT product_id, variant_id FROM product_known \
                          WHERE shop = $1 AND product_id IN";
            for row in self.rows_with_ids(select, shop, &ids).await? {
                let product = id_from_db(row.try_get(0)?, "product_known.product_id")?;
                let v: i64 = row.try_get(1)?;
                let variant = if v == PARENT {
                    None
                } else {
                    Some(id_from_db(v, "product_known.variant_id")?)
                };
                known.insert((product, variant));
            }
        }
        known.retain(|k| keys.contains(k));
        Ok(known)
    }

    /// Whether this service set `contact`'s email consent explicitly
    /// (`None`: never), and whether it ever did so with `@force_optin`.
    pub async fn consent_set(&self, shop: &ShopDomain, contact: &str) -> Result<Option<bool>> {
        let forced: Option<i64> =
            sqlx::query_scalar("SELECT forced FROM consent_set WHERE shop = $1 AND contact = $2")
                .bind(shop.as_str())
                .bind(contact)
                .fetch_optional(&self.pool)
                .await?;
        Ok(forced.map(|f| f != 0))
    }

    /// The latest Ometria-side unsubscribe the consent write-back saw for
    /// the Shopify customer `customer_id` that still stood when it was
    /// decided on (not one the contact had undone in Ometria).
    pub async fn ometria_unsubscribed_at(
        &self,
        shop: &ShopDomain,
        customer_id: ShopifyId,
    ) -> Result<Option<DateTime<Utc>>> {
        let at: Option<i64> = sqlx::query_scalar(
            "SELECT MAX(unsubscribed_at) FROM consent_decision \
             WHERE shop = $1 AND customer_id = $2 AND reason <> 'resubscribed_in_ometria'",
        )
        .bind(shop.as_str())
        .bind(id_to_db(customer_id)?)
        .fetch_one(&self.pool)
        .await?;
        at.map(|t| time_from_db(t, "consent_decision.unsubscribed_at"))
            .transpose()
    }
}

pub(crate) async fn put_known_product(
    conn: &mut AnyConnection,
    shop: &ShopDomain,
    (product, variant): &ProductRecordKey,
) -> Result<()> {
    let variant = match variant {
        Some(v) => id_to_db(*v)?,
        None => PARENT,
    };
    sqlx::query(
        "INSERT INTO product_known (shop, product_id, variant_id) VALUES ($1, $2, $3) \
         ON CONFLICT (shop, product_id, variant_id) DO NOTHING",
    )
    .bind(shop.as_str())
    .bind(id_to_db(*product)?)
    .bind(variant)
    .execute(conn)
    .await?;
    Ok(())
}

pub(crate) async fn put_consent_set(
    conn: &mut AnyConnection,
    shop: &ShopDomain,
    contact: &str,
    forced: bool,
) -> Result<()> {
    // `forced` only ever goes from 0 to 1.
    sqlx::query(
        "INSERT INTO consent_set (shop, contact, forced) VALUES ($1, $2, $3) \
         ON CONFLICT (shop, contact) DO UPDATE \
         SET forced = CASE WHEN excluded.forced > consent_set.forced \
         THEN excluded.forced ELSE consent_set.forced END",
    )
    .bind(shop.as_str())
    .bind(contact)
    .bind(i64::from(forced))
    .execute(conn)
    .await?;
    Ok(())
}

//! State kept per Shopify entity between events: order state, customer tags, product variants.
//! Stored as JSON text (ids inside are decimal strings, so exact); written by
//! [`Store::commit`].

use so_domain::mapping::{OrderState, TagSet};
use so_domain::{ShopDomain, ShopifyId};
use sqlx::AnyConnection;

use crate::codec::{from_json, id_to_db, to_json};
use crate::connect::Store;
use crate::error::Result;

impl Store {
    pub async fn order_state(
        &self,
        shop: &ShopDomain,
        order_id: ShopifyId,
    ) -> Result<Option<OrderState>> {
        let raw: Option<String> =
            sqlx::query_scalar("SELECT state FROM order_state WHERE shop = $1 AND order_id = $2")
                .bind(shop.as_str())
                .bind(id_to_db(order_id)?)
                .fetch_optional(&self.pool)
                .await?;
        raw.map(|r| from_json(&r, "order_state.state")).transpose()
    }

    /// The customer's current tags; empty if none were ever stored.
    pub async fn customer_tags(&self, shop: &ShopDomain, customer_id: ShopifyId) -> Result<TagSet> {
        let raw: Option<String> = sqlx::query_scalar(
            "SELECT tags FROM customer_tags WHERE shop = $1 AND customer_id = $2",
        )
        .bind(shop.as_str())
        .bind(id_to_db(customer_id)?)
        .fetch_optional(&self.pool)
        .await?;
        match raw {
            Some(r) => from_json(&r, "customer_tags.tags"),
            None => Ok(TagSet::default()),
        }
    }

    /// Variant ids of the product as last stored; empty if the product is unknown.
    pub async fn known_variants(
        &self,
        shop: &ShopDomain,
        product_id: ShopifyId,
    ) -> Result<Vec<ShopifyId>> {
        let raw: Option<String> = sqlx::query_scalar(
            "SELECT variant_ids FROM product_variants WHERE shop = $1 AND product_id = $2",
        )
        .bind(shop.as_str())
        .bind(id_to_db(product_id)?)
        .fetch_optional(&self.pool)
        .await?;
        match raw {
            Some(r) => from_json(&r, "product_variants.variant_ids"),
            None => Ok(Vec::new()),
        }
    }
}

pub(crate) async fn put_order_state(
    conn: &mut AnyConnection,
    shop: &ShopDomain,
    state: &OrderState,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO order_state (shop, order_id, state, contact) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (shop, order_id) DO UPDATE SET state = excluded.state, \
         contact = excluded.contact",
    )
    .bind(shop.as_str())
    .bind(id_to_db(state.order_id)?)
    .bind(to_json(state, "order state")?)
    .bind(state.buyer.as_ref().map(|b| b.id.as_str()))
    .execute(conn)
    .await?;
    Ok(())
}

pub(crate) async fn put_tags(
    conn: &mut AnyConnection,
    shop: &ShopDomain,
    customer_id: ShopifyId,
    tags: &TagSet,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO customer_tags (shop, customer_id, tags) VALUES ($1, $2, $3) \
         ON CONFLICT (shop, customer_id) DO UPDATE SET tags = excluded.tags",
    )
    .bind(shop.as_str())
    .bind(id_to_db(customer_id)?)
    .bind(to_json(tags, "tag set")?)
    .execute(conn)
    .await?;
    Ok(())
}

pub(crate) async fn put_variants(
    conn: &mut AnyConnection,
    shop: &ShopDomain,
    product_id: ShopifyId,
    variants: &[ShopifyId],
) -> Result<()> {
    sqlx::query(
        "INSERT INTO product_variants (shop, product_id, variant_ids) VALUES ($1, $2, $3) \
         ON CONFLICT (shop, product_id) DO UPDATE SET variant_ids = excluded.variant_ids",
    )
    .bind(shop.as_str())
    .bind(id_to_db(product_id)?)
    .bind(to_json(&variants, "variant ids")?)
    .execute(conn)
    .await?;
    Ok(())
}

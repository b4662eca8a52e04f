//! Products and product deletions: the variants of a product are kept so
//! that its delete can remove them too.

use std::ops::ControlFlow;

use so_domain::freshness::EntityKind;
use so_domain::mapping;
use so_domain::ometria::PushRecord;
use so_domain::shopify;

use super::{Ctx, Preparer, Step, proceed};
use crate::pending::Pending;

impl Preparer {
    /// `products/create|update`.
    pub(super) async fn product(
        &self,
        cx: &mut Ctx<'_>,
        pending: &Pending,
        p: &shopify::Product,
    ) -> Step<Vec<PushRecord>> {
        proceed!(
            self.fresh(
                cx,
                pending,
                EntityKind::Product,
                p.id.to_string(),
                p.updated_at,
            )
            .await?
        );
        let records = mapping::map_product(&cx.mapping, p)?;
        let variants = p.variants.iter().map(|v| v.id).collect();
        cx.changes.variants.push((cx.shop.clone(), p.id, variants));
        Ok(ControlFlow::Continue(records))
    }

    /// `products/delete`.
    pub(super) async fn product_delete(
        &self,
        cx: &mut Ctx<'_>,
        pending: &Pending,
        del: &shopify::ProductDelete,
    ) -> Step<Vec<PushRecord>> {
        proceed!(
            self.fresh(cx, pending, EntityKind::Product, del.id.to_string(), None)
                .await?
        );
        let known = match pending.variants(cx.shop, del.id) {
            Some(v) => v.clone(),
            None => self.store.known_variants(cx.shop, del.id).await?,
        };
        Ok(ControlFlow::Continue(mapping::map_product_delete(
            &cx.mapping,
            del.id,
            &known,
        )?))
    }
}

//! The Field mappings page of a shop (`/console/shops/<shop>/mappings`): the contact, order
//! and product mappings as a form (one `property = source path` per line), checked with
//! start-up's rules (`so_domain::mapping::FieldMappings::build`), a preview of what one of the
//! shop's customers and orders (read from its Admin API) would carry, masked, and Save through
//! the shop settings path (`so-ops`), whose answer is shown.

use std::collections::BTreeMap;

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use so_domain::ShopDomain;
use so_domain::mapping::{FieldMappings, MappedEntity};
use so_ops::OpsError;
use so_platform::ShopSettings;
use so_platform::shops_live;

use crate::auth::Viewer;
use crate::error::ConsoleError;
use crate::pages;
use crate::routes::{Console, PageQuery, page_query};
use crate::sync::FieldError;

/// The three tables as typed, one `property = source path` a line.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct MappingsForm {
    csrf: Option<String>,
    #[serde(default)]
    pub(crate) contact: String,
    #[serde(default)]
    pub(crate) order: String,
    #[serde(default)]
    pub(crate) product: String,
}

impl crate::routes::Posted for MappingsForm {
    fn csrf(&self) -> Option<&str> {
        self.csrf.as_deref()
    }
}

/// What one entity's sample would carry: `(property, masked value)`; `None`: no sample.
pub(crate) type Preview = Option<Result<Vec<(String, String)>, String>>;

pub(crate) struct View {
    pub(crate) shop: String,
    pub(crate) form: MappingsForm,
    pub(crate) errors: Vec<FieldError>,
    pub(crate) saved: bool,
    pub(crate) contact: Preview,
    pub(crate) order: Preview,
}

pub(crate) async fn page(
    State(c): State<Console>,
    Path(shop): Path<String>,
    headers: HeaderMap,
    q: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Response, ConsoleError> {
    let viewer = c.viewer(&headers, page_query(q).id_token.as_deref())?;
    viewer.may_see(&shop)?;
    let (domain, settings) = crate::sync::settings_of(&c, &shop).await?;
    let form = MappingsForm {
        csrf: None,
        contact: lines(&settings.mappings.contact),
        order: lines(&settings.mappings.order),
        product: lines(&settings.mappings.product),
    };
    // No sample on a page load: a preview reads the shop's Admin API, only when asked.
    let v = view(&c, &domain, form, None, Vec::new()).await;
    Ok(render(&c, &viewer, &v, StatusCode::OK))
}

/// Preview: the typed mappings checked and applied to the samples; nothing is written.
pub(crate) async fn preview(
    State(c): State<Console>,
    Path(shop): Path<String>,
    headers: HeaderMap,
    f: Result<Form<MappingsForm>, FormRejection>,
) -> Result<Response, ConsoleError> {
    let (viewer, f) = crate::routes::shop_action(&c, &headers, &shop, f)?;
    let (domain, _) = crate::sync::settings_of(&c, &shop).await?;
    let (built, errors, status) = match checked(&f) {
        Ok(m) => (Some(m), Vec::new(), StatusCode::OK),
        Err(e) => (None, e, StatusCode::BAD_REQUEST),
    };
    let v = view(&c, &domain, f, built.as_ref(), errors).await;
    Ok(render(&c, &viewer, &v, status))
}

/// Save: checked, then written through the shop settings path (which refuses a shop managed
/// in the configuration file, and keys it does not take: its answer is shown by the form).
pub(crate) async fn save(
    State(c): State<Console>,
    Path(shop): Path<String>,
    headers: HeaderMap,
    f: Result<Form<MappingsForm>, FormRejection>,
) -> Result<Response, ConsoleError> {
    let (viewer, f) = crate::routes::shop_action(&c, &headers, &shop, f)?;
    let (domain, settings) = crate::sync::settings_of(&c, &shop).await?;
    let built = match checked(&f) {
        Ok(m) => m,
        Err(errors) => {
            let v = view(&c, &domain, f, None, errors).await;
            return Ok(render(&c, &viewer, &v, StatusCode::BAD_REQUEST));
        }
    };
    let value = with_mappings(&settings, &f);
    let refused = match c
        .shops
        .set_settings(domain.as_str(), &value, &viewer.actor())
        .await
    {
        Ok(_) => None,
        Err(OpsError::InvalidSettings(problems)) => Some(problems.join("; ")),
        Err(e @ OpsError::ManagedAsCode(_)) => Some(e.to_string()),
        Err(e) => return Err(e.into()),
    };
    if let Some(message) = refused {
        let errors = vec![FieldError {
            field: "save",
            message,
        }];
        let v = view(&c, &domain, f, Some(&built), errors).await;
        return Ok(render(&c, &viewer, &v, StatusCode::CONFLICT));
    }
    tracing::info!(shop = %domain, actor = %viewer.actor(), "Console: field mappings saved.");
    match viewer {
        Viewer::Ops { .. } => {
            Ok(Redirect::to(&format!("/console/shops/{domain}/mappings")).into_response())
        }
        Viewer::Embedded(_) => {
            let mut v = view(&c, &domain, f, Some(&built), Vec::new()).await;
            v.saved = true;
            Ok(render(&c, &viewer, &v, StatusCode::OK))
        }
    }
}

fn render(c: &Console, viewer: &Viewer, v: &View, status: StatusCode) -> Response {
    let mut res = pages::html(Some(viewer), pages::mappings::page(c.chrome(viewer), v));
    *res.status_mut() = status;
    res
}

async fn view(
    c: &Console,
    shop: &ShopDomain,
    form: MappingsForm,
    built: Option<&FieldMappings>,
    errors: Vec<FieldError>,
) -> View {
    let (contact, order) = match built {
        Some(m) => samples(c, shop, m).await,
        None => (None, None),
    };
    View {
        shop: shop.to_string(),
        form,
        errors,
        saved: false,
        contact,
        order,
    }
}

/// The shop's most recently updated customer and order, read from its Admin API in webhook
/// shape (as a backfill sends them), with the mappings applied: only the mapped properties,
/// every value masked.
async fn samples(c: &Console, shop: &ShopDomain, m: &FieldMappings) -> (Preview, Preview) {
    let admin = match so_sync::clients::admin_client(&c.config, c.queue.store(), shop) {
        Ok(a) => a,
        Err(e) => {
            let why = Some(Err(e.to_string()));
            return (why.clone(), why);
        }
    };
    let contact = first_mapped(
        admin.recent_customers(1).await,
        m,
        MappedEntity::Contact,
        |n| so_shopify_admin::customer_webhook(n).body,
    );
    let order = first_mapped(admin.recent_orders(1).await, m, MappedEntity::Order, |n| {
        so_shopify_admin::order_webhook(n).body
    });
    (contact, order)
}

/// The first of the nodes read, in webhook shape, with the mappings applied.
fn first_mapped<N, E: std::fmt::Display>(
    read: Result<Vec<N>, E>,
    m: &FieldMappings,
    entity: MappedEntity,
    body: impl Fn(&N) -> serde_json::Value,
) -> Preview {
    Some(match read {
        Ok(nodes) => nodes.first().map_or_else(
            || Err("none in the shop yet".to_owned()),
            |n| Ok(mapped(m, entity, &body(n))),
        ),
        Err(e) => Err(format!("the Admin API failed: {e}")),
    })
}

fn mapped(
    m: &FieldMappings,
    entity: MappedEntity,
    raw: &serde_json::Value,
) -> Vec<(String, String)> {
    let mut props = serde_json::Map::new();
    m.apply(entity, raw, &mut props);
    props
        .into_iter()
        .map(|(k, v)| {
            let text = match v {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            (k, so_domain::pii::mask_str(&text))
        })
        .collect()
}

/// The typed tables checked as start-up checks them; each problem goes to its entity's box.
fn checked(f: &MappingsForm) -> Result<FieldMappings, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut table = |field: &'static str, raw: &str| match parse(field, raw) {
        Ok(t) => t,
        Err(e) => {
            errors.push(e);
            BTreeMap::new()
        }
    };
    let (contact, order, product) = (
        table("contact", &f.contact),
        table("order", &f.order),
        table("product", &f.product),
    );
    if !errors.is_empty() {
        return Err(errors);
    }
    FieldMappings::build(&contact, &order, &product).map_err(|problems| {
        problems
            .into_iter()
            .map(|p| FieldError {
                field: ["contact", "order", "product"]
                    .into_iter()
                    .find(|e| p.starts_with(&format!("mappings.{e}.")))
                    .unwrap_or("contact"),
                message: p,
            })
            .collect()
    })
}

/// `property = source path` lines; blank lines are skipped.
fn parse(field: &'static str, raw: &str) -> Result<BTreeMap<String, String>, FieldError> {
    let mut out = BTreeMap::new();
    for (n, line) in raw.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let bad = |why: &str| FieldError {
            field,
            message: format!("mappings.{field}, line {}: {why}", n + 1),
        };
        let (target, source) = line
            .split_once('=')
            .ok_or_else(|| bad("write `property = source path`"))?;
        let target = target.trim().to_owned();
        if out
            .insert(target.clone(), source.trim().to_owned())
            .is_some()
        {
            return Err(bad(&format!("{target:?} is mapped twice")));
        }
    }
    Ok(out)
}

fn lines(table: &BTreeMap<String, String>) -> String {
    table.iter().map(|(t, s)| format!("{t} = {s}\n")).collect()
}

/// The shop's settings the shop settings path takes, with the typed mappings.
fn with_mappings(settings: &ShopSettings, f: &MappingsForm) -> serde_json::Value {
    let mut value = shops_live::to_stored(settings);
    if let Some(o) = value.as_object_mut() {
        o.retain(|k, _| crate::sync::settable(k));
        let table = |raw: &str, field| parse(field, raw).unwrap_or_default();
        o.insert(
            "mappings".to_owned(),
            serde_json::json!({
                "contact": table(&f.contact, "contact"),
                "order": table(&f.order, "order"),
                "product": table(&f.product, "product"),
            }),
        );
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(contact: &str, order: &str) -> MappingsForm {
        MappingsForm {
            contact: contact.to_owned(),
            order: order.to_owned(),
            ..MappingsForm::default()
        }
    }

    #[test]
    fn each_problem_goes_to_its_entity() {
        let e = checked(&form(
            "tier = metafield.custom.tier\n",
            "gift = note_attributes.gift\n",
        ))
        .unwrap_err();
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(e[0].field, "contact");
        assert!(
            e[0].message.starts_with("mappings.contact.tier: "),
            "{}",
            e[0].message
        );
        let e = checked(&form("", "@x = note\n")).unwrap_err();
        assert_eq!(e[0].field, "order");
        let e = checked(&form("just text", "")).unwrap_err();
        assert_eq!(
            e[0].message,
            "mappings.contact, line 1: write `property = source path`"
        );
        assert!(checked(&form("home_city = default_address.city\n\n", "")).is_ok());
    }

    #[test]
    fn mapped_values_are_masked() {
        let m = checked(&form("home_city = default_address.city\n", "")).unwrap();
        let raw = serde_json::json!({"default_address": {"city": "Lyon"}, "email": "a@b.fr"});
        assert_eq!(
            mapped(&m, MappedEntity::Contact, &raw),
            vec![("home_city".to_owned(), "L***".to_owned())]
        );
    }
}

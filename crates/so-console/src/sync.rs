//! The Data Sync page of a shop (`/console/shops/<shop>/sync`): On Demand and Auto Send
//! profile sends, as `shopify-ometria send-profiles` runs them (the same `so_sync` checks and
//! send), started in the background with their progress shown, and the last send in the
//! shop's time zone. Bad input is shown next to its field and sends nothing.

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use so_domain::ShopDomain;
use so_ops::OpsError;
use so_platform::ShopSettings;
use so_sync::SyncError;
use so_sync::profiles::{self, Choices, Kind, SendSummary};

use crate::auth::Viewer;
use crate::error::ConsoleError;
use crate::pages;
use crate::routes::{Console, PageQuery, page_query};
use crate::sends::{Run, Wiring};

mod checks;

pub(crate) use checks::settable;

use checks::{auto_settings, message_of, on_demand_choices};

/// A value refused, and the form field it came from.
#[derive(Debug, Clone)]
pub(crate) struct FieldError {
    pub(crate) field: &'static str,
    pub(crate) message: String,
}

/// The On Demand form as typed (shown again with an error).
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct OnDemandForm {
    csrf: Option<String>,
    #[serde(default)]
    pub(crate) profiles: String,
    #[serde(default)]
    pub(crate) list: String,
    #[serde(default)]
    pub(crate) new_list: String,
    #[serde(default)]
    pub(crate) active_from: String,
    #[serde(default)]
    pub(crate) active_to: String,
}

impl crate::routes::Posted for OnDemandForm {
    fn csrf(&self) -> Option<&str> {
        self.csrf.as_deref()
    }
}

/// The Auto Send settings form.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct AutoForm {
    csrf: Option<String>,
    pub(crate) daily: Option<String>,
    #[serde(default)]
    pub(crate) at: String,
    #[serde(default)]
    pub(crate) profiles: String,
    #[serde(default)]
    pub(crate) list: String,
    #[serde(default)]
    pub(crate) active_days: String,
}

impl crate::routes::Posted for AutoForm {
    fn csrf(&self) -> Option<&str> {
        self.csrf.as_deref()
    }
}

/// Everything the page shows.
pub(crate) struct View {
    pub(crate) shop: String,
    pub(crate) settings: ShopSettings,
    pub(crate) run: Option<Run>,
    /// The claim of a send of the shop running elsewhere (another process, the CLI, the
    /// scheduler) when none runs here.
    pub(crate) claim: Option<so_store::SendClaim>,
    pub(crate) last: Option<SendSummary>,
    pub(crate) next_local: Option<String>,
    pub(crate) on_demand: Option<OnDemandForm>,
    pub(crate) error: Option<FieldError>,
    pub(crate) auto_error: Option<FieldError>,
    pub(crate) notice: Option<&'static str>,
}

pub(crate) async fn page(
    State(c): State<Console>,
    Path(shop): Path<String>,
    headers: HeaderMap,
    q: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Response, ConsoleError> {
    let viewer = c.viewer(&headers, page_query(q).id_token.as_deref())?;
    viewer.may_see(&shop)?;
    let (domain, settings) = settings_of(&c, &shop).await?;
    let view = view(&c, &domain, settings).await?;
    Ok(render(&c, &viewer, &view, StatusCode::OK))
}

/// On Demand: checked as `send-profiles` checks its options, then started.
pub(crate) async fn send(
    State(c): State<Console>,
    Path(shop): Path<String>,
    headers: HeaderMap,
    f: Result<Form<OnDemandForm>, FormRejection>,
) -> Result<Response, ConsoleError> {
    let (viewer, f) = crate::routes::shop_action(&c, &headers, &shop, f)?;
    let (domain, settings) = settings_of(&c, &shop).await?;
    match on_demand_choices(&f, &settings) {
        Ok(choices) => {
            let sent = Sent {
                kind: Kind::OnDemand,
                field: "send",
                form: Some(f),
            };
            start(&c, &viewer, &domain, settings, choices, sent).await
        }
        Err(error) => {
            let mut v = view(&c, &domain, settings).await?;
            v.on_demand = Some(f);
            v.error = Some(error);
            Ok(render(&c, &viewer, &v, StatusCode::BAD_REQUEST))
        }
    }
}

/// Auto Send's Send now: the shop's automatic settings, at once, recorded as an automatic
/// send (as `send-profiles --auto-now`).
pub(crate) async fn send_now(
    State(c): State<Console>,
    Path(shop): Path<String>,
    headers: HeaderMap,
    f: Result<Form<crate::routes::ActionForm>, FormRejection>,
) -> Result<Response, ConsoleError> {
    let (viewer, _) = crate::routes::shop_action(&c, &headers, &shop, f)?;
    let (domain, settings) = settings_of(&c, &shop).await?;
    match profiles::choices::auto_choices(&settings, chrono::Utc::now()) {
        Ok(choices) => {
            let sent = Sent {
                kind: Kind::Auto,
                field: "send-now",
                form: None,
            };
            start(&c, &viewer, &domain, settings, choices, sent).await
        }
        Err(e) => {
            let mut v = view(&c, &domain, settings).await?;
            v.auto_error = Some(FieldError {
                field: "auto_list",
                message: message_of(e),
            });
            Ok(render(&c, &viewer, &v, StatusCode::BAD_REQUEST))
        }
    }
}

/// Auto Send's Save settings: checked with start-up's rules, written through the shop
/// settings path (`so-ops`, as `shops set` and the admin API), which may refuse it (a shop
/// managed in the configuration file, or a key it does not take): its answer is shown.
pub(crate) async fn save_auto(
    State(c): State<Console>,
    Path(shop): Path<String>,
    headers: HeaderMap,
    f: Result<Form<AutoForm>, FormRejection>,
) -> Result<Response, ConsoleError> {
    let (viewer, f) = crate::routes::shop_action(&c, &headers, &shop, f)?;
    let (domain, settings) = settings_of(&c, &shop).await?;
    let written = match auto_settings(&f, &settings) {
        Ok(value) => match c
            .shops
            .set_settings(domain.as_str(), &value, &viewer.actor())
            .await
        {
            Ok(_) => Ok(()),
            Err(OpsError::InvalidSettings(problems)) => Err(FieldError {
                field: "auto",
                message: problems.join("; "),
            }),
            Err(e @ OpsError::ManagedAsCode(_)) => Err(FieldError {
                field: "auto",
                message: e.to_string(),
            }),
            Err(e) => return Err(e.into()),
        },
        Err(e) => Err(e),
    };
    match written {
        Ok(()) => {
            tracing::info!(shop = %domain, actor = %viewer.actor(), "Console: automatic send settings saved.");
            let (_, settings) = settings_of(&c, &shop).await?;
            answer(&c, &viewer, &domain, settings, Some("Settings saved.")).await
        }
        Err(error) => {
            let mut v = view(&c, &domain, settings).await?;
            v.auto_error = Some(error);
            Ok(render(&c, &viewer, &v, StatusCode::BAD_REQUEST))
        }
    }
}

/// Which send a form asked for, and where a refusal is shown.
struct Sent {
    kind: Kind,
    field: &'static str,
    form: Option<OnDemandForm>,
}

/// Starts the send, or shows the page with why not: another send of the shop holds its
/// claim, here or in another process (409, said next to the button).
async fn start(
    c: &Console,
    viewer: &Viewer,
    shop: &ShopDomain,
    settings: ShopSettings,
    choices: Choices,
    sent: Sent,
) -> Result<Response, ConsoleError> {
    let store = c.queue.store().clone();
    let admin = so_sync::clients::admin_client(&c.config, &store, shop)?;
    let wiring = Wiring {
        admin,
        publisher: c.publisher.clone(),
        store,
        api_version: c.config.shopify_admin.api_version.clone(),
        stop: c.stop.clone(),
    };
    let started = c
        .sends
        .start(shop.clone(), sent.kind, choices, viewer.actor(), wiring)
        .await;
    match started {
        Ok(()) => answer(c, viewer, shop, settings, None).await,
        Err(ConsoleError::Sync(e @ SyncError::SendRunning { .. })) => {
            let mut v = view(c, shop, settings).await?;
            v.on_demand = sent.form;
            v.error = Some(FieldError {
                field: sent.field,
                message: e.to_string(),
            });
            Ok(render(c, viewer, &v, StatusCode::CONFLICT))
        }
        Err(e) => Err(e),
    }
}

/// After an action: ops are sent back to the page (a plain post works without JavaScript);
/// an embedded fetch gets the page itself.
async fn answer(
    c: &Console,
    viewer: &Viewer,
    shop: &ShopDomain,
    settings: ShopSettings,
    notice: Option<&'static str>,
) -> Result<Response, ConsoleError> {
    match viewer {
        Viewer::Ops { .. } => {
            Ok(Redirect::to(&format!("/console/shops/{shop}/sync")).into_response())
        }
        Viewer::Embedded(_) => {
            let mut v = view(c, shop, settings).await?;
            v.notice = notice;
            Ok(render(c, viewer, &v, StatusCode::OK))
        }
    }
}

fn render(c: &Console, viewer: &Viewer, view: &View, status: StatusCode) -> Response {
    let mut res = pages::html(Some(viewer), pages::sync::page(c.chrome(viewer), view));
    *res.status_mut() = status;
    res
}

/// The shop's settings as the service runs them now (the file and the store merged).
pub(crate) async fn settings_of(
    c: &Console,
    shop: &str,
) -> Result<(ShopDomain, ShopSettings), ConsoleError> {
    Ok(c.shops.settings(shop).await?)
}

async fn view(
    c: &Console,
    shop: &ShopDomain,
    settings: ShopSettings,
) -> Result<View, ConsoleError> {
    let store = c.queue.store();
    let last = store
        .last_profile_send(shop, None, true)
        .await
        .map_err(OpsError::from)?;
    // The next daily send, planned as the scheduler plans it: after the last automatic send
    // that a shutdown did not interrupt.
    let last_auto = store
        .last_profile_send(shop, Some(Kind::Auto.as_str()), false)
        .await
        .map_err(OpsError::from)?
        .filter(|r| r.outcome != "interrupted");
    let next = profiles::auto::daily_of(&settings)
        .map(|d| d.next(chrono::Utc::now(), last_auto.map(|r| r.started_at)));
    let run = c.sends.of(shop.as_str());
    let claim = match &run {
        Some(r) if r.state == crate::sends::RunState::Running => None,
        _ => store.send_claim(shop).await.map_err(OpsError::from)?,
    };
    Ok(View {
        shop: shop.to_string(),
        run,
        claim,
        last: last.as_ref().map(|r| SendSummary::of(r, &settings)),
        next_local: next.map(|t| settings.local_time(t)),
        settings,
        on_demand: None,
        error: None,
        auto_error: None,
        notice: None,
    })
}

//! The `/console/` routes and their handlers: login and logout, Shops, Shop, pause and resume
//! (the Dead letters handlers are in [`crate::letters`]).

use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use so_ops::{QueueOps, ShopOps};
use so_platform::Config;
use subtle::ConstantTimeEq;

use crate::auth::{self, App, Viewer};
use crate::error::ConsoleError;
use crate::pages::{self, Chrome};
use crate::session::{self, Sessions};
use crate::{assets, letters, mappings, sync};

/// Entries of a shop's history shown on its page.
const HISTORY_SHOWN: u32 = 20;

/// The console's state; cheap to clone.
#[derive(Clone)]
pub struct Console {
    pub(crate) queue: QueueOps,
    pub(crate) shops: ShopOps,
    admin_token: Arc<SecretString>,
    app: Option<Arc<App>>,
    /// `Secure` cookies: the service is reached over https (`shopify.public_url`).
    secure: bool,
    sessions: Sessions,
    /// The configuration (shops in the file, Admin API settings) for profile sends.
    pub(crate) config: Arc<Config>,
    pub(crate) publisher: so_queue::Publisher,
    pub(crate) sends: crate::sends::Sends,
    /// The service's shutdown ([`Console::stopping_with`]): a send started here stops at its
    /// next page, its checkpoint saved, and resumes when started again with the same choices.
    pub(crate) stop: tokio_util::sync::CancellationToken,
}

impl Console {
    /// The console over `queue` and `shops`; ops log in with `admin_token`; embedded access
    /// when `shopify.app` has a client id and secret.
    pub fn new(
        queue: QueueOps,
        shops: ShopOps,
        config: &Config,
        admin_token: SecretString,
    ) -> Console {
        let app = match (
            &config.shopify.app.client_id,
            &config.shopify.app.client_secret,
        ) {
            (Some(id), Some(secret)) => Some(Arc::new(App {
                client_id: id.clone(),
                secret: secret.clone(),
            })),
            _ => None,
        };
        let secure = config
            .shopify
            .public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"));
        Console {
            publisher: so_queue::Publisher::new(queue.broker().clone()),
            queue,
            shops,
            admin_token: Arc::new(admin_token),
            app,
            secure,
            sessions: Sessions::default(),
            config: Arc::new(config.clone()),
            sends: crate::sends::Sends::default(),
            stop: tokio_util::sync::CancellationToken::new(),
        }
    }

    /// Sends started here stop when `shutdown` is cancelled; wait for them with
    /// [`Console::sends_stopped`].
    pub fn stopping_with(mut self, shutdown: tokio_util::sync::CancellationToken) -> Console {
        self.stop = shutdown;
        self
    }

    /// Ends when every send started here has ended (after the shutdown: saved its
    /// checkpoint and released its claim). The caller bounds the wait.
    pub async fn sends_stopped(&self) {
        self.sends.stopped().await;
    }

    pub(crate) fn viewer(
        &self,
        headers: &HeaderMap,
        query_token: Option<&str>,
    ) -> Result<Viewer, ConsoleError> {
        auth::viewer(
            headers,
            query_token,
            self.app.as_deref(),
            &self.sessions,
            chrono::Utc::now().timestamp(),
        )
    }

    pub(crate) fn chrome<'a>(&'a self, viewer: &'a Viewer) -> Chrome<'a> {
        Chrome {
            viewer: Some(viewer),
            api_key: self.app.as_deref().map(|a| a.client_id.as_str()),
            app_bridge: &self.config.shopify.app.app_bridge_url,
        }
    }
}

/// The `/console/` routes; merge them into the ops router.
pub fn router(console: Console) -> Router {
    Router::new()
        .route(
            "/console",
            get(|| async { Redirect::permanent("/console/") }),
        )
        .route("/console/", get(index))
        .route("/console/login", get(login_form).post(login))
        .route("/console/logout", post(logout))
        .route("/console/shops/{shop}", get(shop))
        .route("/console/shops/{shop}/pause", post(pause))
        .route("/console/shops/{shop}/resume", post(resume))
        .route("/console/shops/{shop}/sync", get(sync::page))
        .route("/console/shops/{shop}/sync/send", post(sync::send))
        .route("/console/shops/{shop}/sync/auto", post(sync::save_auto))
        .route("/console/shops/{shop}/sync/auto/send", post(sync::send_now))
        .route(
            "/console/shops/{shop}/mappings",
            get(mappings::page).post(mappings::save),
        )
        .route(
            "/console/shops/{shop}/mappings/preview",
            post(mappings::preview),
        )
        .route("/console/dead-letters", get(letters::list))
        .route("/console/dead-letters/replay", post(letters::replay))
        .route("/console/dead-letters/purge", post(letters::purge))
        .route("/console/dead-letters/{id}", get(letters::show))
        .route("/console/dead-letters/{id}/reveal", post(letters::reveal))
        .route("/console/assets/console.css", get(assets::css))
        .route("/console/assets/console.js", get(assets::js))
        .with_state(console)
}

/// The `id_token` Shopify adds to an embedded page's first load (its other parameters are
/// not needed: the token names the shop and is signed).
#[derive(Debug, Deserialize, Default)]
pub(crate) struct PageQuery {
    pub(crate) id_token: Option<String>,
}

pub(crate) fn page_query(
    q: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> PageQuery {
    q.map(|Query(q)| q).unwrap_or_default()
}

/// Ops: the Shops page. Embedded: straight to the viewer's own shop.
async fn index(
    State(c): State<Console>,
    headers: HeaderMap,
    q: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ConsoleError> {
    let viewer = c.viewer(&headers, page_query(q).id_token.as_deref())?;
    if let Some(own) = viewer.only_shop() {
        let own = own.to_owned();
        return shop_page(&c, &viewer, &own).await;
    }
    let overview = c.shops.overview().await?;
    Ok(pages::html(
        Some(&viewer),
        pages::shops::page(c.chrome(&viewer), &overview, chrono::Utc::now()),
    ))
}

async fn shop(
    State(c): State<Console>,
    Path(shop): Path<String>,
    headers: HeaderMap,
    q: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ConsoleError> {
    let viewer = c.viewer(&headers, page_query(q).id_token.as_deref())?;
    shop_page(&c, &viewer, &shop).await
}

async fn shop_page(c: &Console, viewer: &Viewer, shop: &str) -> Result<Response, ConsoleError> {
    viewer.may_see(shop)?;
    let status = c.shops.show(shop).await?;
    let history = c.shops.history(shop, HISTORY_SHOWN).await?;
    let activity = c.shops.activity(shop, pages::activity::SHOWN).await?;
    Ok(pages::html(
        Some(viewer),
        pages::shop::page(c.chrome(viewer), &status, &activity, &history),
    ))
}

/// The body of every action form.
#[derive(Debug, Deserialize)]
pub(crate) struct ActionForm {
    pub(crate) csrf: Option<String>,
}

/// A posted form, which carries its CSRF token.
pub(crate) trait Posted {
    fn csrf(&self) -> Option<&str>;
}

impl Posted for ActionForm {
    fn csrf(&self) -> Option<&str> {
        self.csrf.as_deref()
    }
}

/// An action on `shop`: its viewer, who may see the shop, and the form, its CSRF token
/// checked. Actions never take the query token: only a header (or the session)
/// authenticates them.
pub(crate) fn shop_action<T: Posted>(
    c: &Console,
    headers: &HeaderMap,
    shop: &str,
    f: Result<Form<T>, FormRejection>,
) -> Result<(Viewer, T), ConsoleError> {
    let viewer = c.viewer(headers, None)?;
    viewer.may_see(shop)?;
    let f = form(f)?;
    viewer.check_csrf(f.csrf())?;
    Ok((viewer, f))
}

pub(crate) fn form<T>(f: Result<Form<T>, FormRejection>) -> Result<T, ConsoleError> {
    f.map(|Form(f)| f)
        .map_err(|e| ConsoleError::Form(e.body_text()))
}

#[derive(Clone, Copy)]
enum SyncAction {
    Pause,
    Resume,
}

async fn pause(
    State(c): State<Console>,
    Path(shop): Path<String>,
    headers: HeaderMap,
    f: Result<Form<ActionForm>, FormRejection>,
) -> Result<Response, ConsoleError> {
    set_sync(&c, &shop, &headers, f, SyncAction::Pause).await
}

async fn resume(
    State(c): State<Console>,
    Path(shop): Path<String>,
    headers: HeaderMap,
    f: Result<Form<ActionForm>, FormRejection>,
) -> Result<Response, ConsoleError> {
    set_sync(&c, &shop, &headers, f, SyncAction::Resume).await
}

/// Pause or resume through so-ops (which records the actor in the shop's history, and a
/// resume's release in the operations log). Ops get redirected to the shop's page (a plain
/// post works without JavaScript); an embedded fetch gets the page itself.
async fn set_sync(
    c: &Console,
    shop: &str,
    headers: &HeaderMap,
    f: Result<Form<ActionForm>, FormRejection>,
    action: SyncAction,
) -> Result<Response, ConsoleError> {
    let (viewer, _) = shop_action(c, headers, shop, f)?;
    let actor = viewer.actor();
    let report = match action {
        SyncAction::Pause => c.shops.pause(shop, &actor).await?,
        SyncAction::Resume => c.shops.resume(shop, &actor).await?,
    };
    tracing::info!(shop = %report.shop, paused = report.paused, %actor, "Console: sync toggled.");
    match viewer {
        Viewer::Ops { .. } => {
            Ok(Redirect::to(&format!("/console/shops/{}", report.shop)).into_response())
        }
        Viewer::Embedded(_) => shop_page(c, &viewer, &report.shop).await,
    }
}

async fn login_form(State(c): State<Console>, headers: HeaderMap) -> Response {
    if c.viewer(&headers, None).is_ok() {
        return Redirect::to("/console/").into_response();
    }
    let csrf = session::random_token();
    with_cookie(
        pages::html(None, pages::login::page(&csrf, None)),
        &session::set_cookie(session::LOGIN_COOKIE, &csrf, session::LIFETIME, c.secure),
    )
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    csrf: Option<String>,
    #[serde(default)]
    name: String,
    #[serde(default)]
    token: String,
}

/// Checks the login form's double-submit token, then the admin token (constant time).
async fn login(
    State(c): State<Console>,
    headers: HeaderMap,
    f: Result<Form<LoginForm>, FormRejection>,
) -> Result<Response, ConsoleError> {
    let f = form(f)?;
    let cookie = headers
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|h| session::cookie(h, session::LOGIN_COOKIE))
        .unwrap_or("");
    let given = f.csrf.as_deref().unwrap_or("");
    if !session::same_token(given, cookie) {
        return Err(ConsoleError::Csrf);
    }
    let who = who(&f.name);
    let expected = c.admin_token.expose_secret().as_bytes();
    if f.token.is_empty() || !bool::from(f.token.as_bytes().ct_eq(expected)) {
        tracing::warn!(who = %who, "Console login refused: wrong admin token.");
        let mut res = pages::html(None, pages::login::page(given, Some("Wrong admin token.")));
        *res.status_mut() = StatusCode::UNAUTHORIZED;
        return Ok(res);
    }
    let id = c.sessions.open(who.clone());
    tracing::info!(actor = %format!("console:{who}"), "Console login.");
    let res = Redirect::to("/console/").into_response();
    let res = with_cookie(
        res,
        &session::set_cookie(session::COOKIE, &id, session::LIFETIME, c.secure),
    );
    Ok(with_cookie(
        res,
        &session::set_cookie(
            session::LOGIN_COOKIE,
            "",
            std::time::Duration::ZERO,
            c.secure,
        ),
    ))
}

async fn logout(
    State(c): State<Console>,
    headers: HeaderMap,
    f: Result<Form<ActionForm>, FormRejection>,
) -> Result<Response, ConsoleError> {
    let viewer = c.viewer(&headers, None)?;
    let Viewer::Ops { id, .. } = &viewer else {
        return Err(ConsoleError::Form(
            "embedded users have no session to end".to_owned(),
        ));
    };
    viewer.check_csrf(form(f)?.csrf.as_deref())?;
    c.sessions.close(id);
    tracing::info!(actor = %viewer.actor(), "Console logout.");
    Ok(with_cookie(
        Redirect::to("/console/login").into_response(),
        &session::set_cookie(session::COOKIE, "", std::time::Duration::ZERO, c.secure),
    ))
}

/// The name typed at login, as the admin API treats `X-Actor`: no control characters, at
/// most 64 characters, `ops` when empty.
fn who(raw: &str) -> String {
    let who: String = raw
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(64)
        .collect();
    if who.is_empty() {
        "ops".to_owned()
    } else {
        who
    }
}

fn with_cookie(mut res: Response, cookie: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(cookie) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

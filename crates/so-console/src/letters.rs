//! The Dead letters pages' handlers (list, show, reveal, replay, purge), on the same `so-ops`
//! queue actions as the `dlq` CLI and `/admin/dead-letters`. Ops only for now: a shop's staff are refused (`ops_only`).

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use so_ops::{Filter, ReplayOptions, TargetQueue};

use crate::auth::Viewer;
use crate::error::ConsoleError;
use crate::letter_form::{self, Problem};
use crate::pages::letters::{self, LetterQuery};
use crate::pages::{self};
use crate::routes::{Console, form};

/// Recent operations shown under the list.
const OPERATIONS_SHOWN: u32 = 10;

fn ops_viewer(c: &Console, headers: &HeaderMap) -> Result<Viewer, ConsoleError> {
    let viewer = c.viewer(headers, None)?;
    match viewer {
        Viewer::Ops { .. } => Ok(viewer),
        Viewer::Embedded(_) => Err(ConsoleError::OpsOnly),
    }
}

fn target(raw: &str) -> Result<TargetQueue, ConsoleError> {
    if raw.is_empty() {
        Ok(TargetQueue::DeadLetter)
    } else {
        Ok(TargetQueue::parse(raw)?)
    }
}

pub(crate) async fn list(
    State(c): State<Console>,
    headers: HeaderMap,
    q: Result<Query<LetterQuery>, QueryRejection>,
) -> Result<Response, ConsoleError> {
    let viewer = ops_viewer(&c, &headers)?;
    let q = q
        .map(|Query(q)| q)
        .map_err(|e| ConsoleError::Form(e.body_text()))?;
    list_page(&c, &viewer, &q, None).await
}

/// The list for `q`; with a `problem` (a refused form, or a bad filter of `q` itself) shown
/// inline and a 400, and no list when `q` cannot be read.
async fn list_page(
    c: &Console,
    viewer: &Viewer,
    q: &LetterQuery,
    problem: Option<Problem>,
) -> Result<Response, ConsoleError> {
    let queue = target(&q.queue)?;
    let read = letter_form::filter(q, &[]).and_then(|f| Ok((f, letter_form::offset(&q.offset)?)));
    let (listing, problem) = match read {
        Ok((filter, offset)) => (
            Some(
                c.queue
                    .list_page(queue, &filter, offset, letters::SHOWN)
                    .await?,
            ),
            problem,
        ),
        Err(p) => (None, problem.or(Some(p))),
    };
    let history = c.queue.history(OPERATIONS_SHOWN).await?;
    let page = letters::Page {
        q,
        listing: listing.as_ref(),
        history: &history,
        problem: problem.as_ref(),
    };
    let mut res = pages::html(Some(viewer), letters::list(c.chrome(viewer), &page));
    if problem.is_some() {
        *res.status_mut() = StatusCode::BAD_REQUEST;
    }
    Ok(res)
}

#[derive(Debug, Deserialize, Default)]
pub(crate) struct QueueQuery {
    #[serde(default)]
    queue: String,
}

/// One message, customer data masked.
pub(crate) async fn show(
    State(c): State<Console>,
    Path(id): Path<String>,
    headers: HeaderMap,
    q: Result<Query<QueueQuery>, QueryRejection>,
) -> Result<Response, ConsoleError> {
    let viewer = ops_viewer(&c, &headers)?;
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let queue = target(&q.queue)?;
    let detail = c.queue.show(queue, &id, false).await?;
    Ok(pages::html(
        Some(&viewer),
        letters::detail(c.chrome(&viewer), queue.as_str(), &detail),
    ))
}

#[derive(Debug, Deserialize)]
pub(crate) struct RevealForm {
    csrf: Option<String>,
    #[serde(default)]
    queue: String,
}

/// One message with its customer data: a post (it is an action), logged with who asked.
pub(crate) async fn reveal(
    State(c): State<Console>,
    Path(id): Path<String>,
    headers: HeaderMap,
    f: Result<Form<RevealForm>, FormRejection>,
) -> Result<Response, ConsoleError> {
    let viewer = ops_viewer(&c, &headers)?;
    let f = form(f)?;
    viewer.check_csrf(f.csrf.as_deref())?;
    let queue = target(&f.queue)?;
    // The admin API's reveal logs the same line: the audit trail of reveals.
    tracing::warn!(actor = %viewer.actor(), webhook_id = %id, "Dead letter payload revealed.");
    let detail = c.queue.show(queue, &id, true).await?;
    Ok(pages::html(
        Some(&viewer),
        letters::detail(c.chrome(&viewer), queue.as_str(), &detail),
    ))
}

/// A replay's form: one message (`ids`), the ticked ones (several `ids`, `selection`) or the
/// list's filter, paced at `rate` messages per second when given.
#[derive(Debug, Deserialize)]
pub(crate) struct ReplayForm {
    csrf: Option<String>,
    #[serde(default)]
    dry_run: Option<String>,
    #[serde(default)]
    rate: String,
    /// Posted by the list's selection form: no box ticked is a mistake, not "everything".
    #[serde(default)]
    selection: Option<String>,
    #[serde(flatten)]
    filter: LetterQuery,
    /// Every `ids` value (one per ticked box; each may be comma-separated).
    #[serde(skip)]
    ids: Vec<String>,
}

impl ReplayForm {
    /// From the posted pairs: a plain form repeats `ids` once per ticked box, which a struct
    /// cannot take, so they are gathered first.
    fn from_pairs(pairs: Vec<(String, String)>) -> Result<ReplayForm, ConsoleError> {
        let mut ids = Vec::new();
        let mut rest = serde_json::Map::new();
        for (k, v) in pairs {
            if k == "ids" {
                ids.extend(letter_form::split(&v));
            } else {
                rest.insert(k, serde_json::Value::String(v));
            }
        }
        let mut f: ReplayForm = serde_json::from_value(serde_json::Value::Object(rest))
            .map_err(|e| ConsoleError::Form(e.to_string()))?;
        f.ids = ids;
        Ok(f)
    }

    /// What to replay and how, or the field that is wrong.
    fn options(&self) -> Result<(Filter, ReplayOptions), Problem> {
        if self.selection.is_some() && self.ids.is_empty() {
            return Err(Problem {
                field: "ids",
                detail: "tick at least one letter to replay a selection".to_owned(),
            });
        }
        let filter = letter_form::filter(&self.filter, &self.ids)?;
        let options = ReplayOptions {
            dry_run: self.dry_run.is_some(),
            rate: letter_form::rate(&self.rate)?,
            ..ReplayOptions::default()
        };
        Ok((filter, options))
    }
}

/// Replays one message, a selection or the list's filter; an empty filter is refused
/// (`no_filter`), as the CLI and the admin API refuse it without an explicit `all`. A bad
/// value (time, rate, no box ticked) is shown on the list, inline; nothing moves.
pub(crate) async fn replay(
    State(c): State<Console>,
    headers: HeaderMap,
    f: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Result<Response, ConsoleError> {
    let viewer = ops_viewer(&c, &headers)?;
    let f = ReplayForm::from_pairs(form(f)?)?;
    viewer.check_csrf(f.csrf.as_deref())?;
    let queue = target(&f.filter.queue)?;
    let (filter, options) = match f.options() {
        Ok(o) => o,
        Err(p) => return list_page(&c, &viewer, &f.filter, Some(p)).await,
    };
    let report = match c
        .queue
        .replay(queue, &filter, &options, &viewer.actor())
        .await
    {
        Ok(r) => r,
        Err(e) => return list_page(&c, &viewer, &f.filter, Some(Problem::from_ops(e)?)).await,
    };
    tracing::info!(actor = %viewer.actor(), dry_run = report.dry_run, done = report.done, rate = ?options.rate, "Console: replay.");
    let asked = letters::Asked {
        selected: f.selection.is_some().then_some(f.ids.len()),
        rate: options.rate,
    };
    Ok(pages::html(
        Some(&viewer),
        letters::report(c.chrome(&viewer), queue.as_str(), &report, &asked),
    ))
}

#[derive(Debug, Deserialize)]
pub(crate) struct PurgeForm {
    csrf: Option<String>,
    #[serde(default)]
    dry_run: Option<String>,
    /// Ticked to delete for good; a purge that is not a dry run needs it.
    #[serde(default)]
    confirm: Option<String>,
    #[serde(flatten)]
    filter: LetterQuery,
}

/// Purges the list's filter: a dry run, or for good once confirmed.
pub(crate) async fn purge(
    State(c): State<Console>,
    headers: HeaderMap,
    f: Result<Form<PurgeForm>, FormRejection>,
) -> Result<Response, ConsoleError> {
    let viewer = ops_viewer(&c, &headers)?;
    let f = form(f)?;
    viewer.check_csrf(f.csrf.as_deref())?;
    let dry_run = f.dry_run.is_some();
    if !dry_run && f.confirm.is_none() {
        return Err(ConsoleError::Form(
            "confirm: tick \"Delete for good\" to purge, or keep the dry run".to_owned(),
        ));
    }
    let queue = target(&f.filter.queue)?;
    let filter = match letter_form::filter(&f.filter, &[]) {
        Ok(filter) => filter,
        Err(p) => return list_page(&c, &viewer, &f.filter, Some(p)).await,
    };
    let report = c
        .queue
        .purge(queue, &filter, dry_run, false, &viewer.actor())
        .await?;
    tracing::info!(actor = %viewer.actor(), dry_run, done = report.done, "Console: purge.");
    Ok(pages::html(
        Some(&viewer),
        letters::report(
            c.chrome(&viewer),
            queue.as_str(),
            &report,
            &letters::Asked::default(),
        ),
    ))
}

//! The Dead letters pages' handlers (list, show, reveal, replay, purge), on the same `so-ops`
//! queue actions as the `dlq` CLI and `/admin/dead-letters`. Ops only for now: a shop's staff are refused (`ops_only`).

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use so_ops::{Filter, ReplayOptions, TargetQueue};

use crate::auth::Viewer;
use crate::error::ConsoleError;
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

/// Comma-separated values, as the admin API's query parameters.
fn split(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn target(raw: &str) -> Result<TargetQueue, ConsoleError> {
    if raw.is_empty() {
        Ok(TargetQueue::DeadLetter)
    } else {
        Ok(TargetQueue::parse(raw)?)
    }
}

fn filter(q: &LetterQuery, ids: &str) -> Filter {
    Filter {
        ids: split(ids),
        topics: split(&q.topic),
        shops: split(&q.shop),
        reasons: split(&q.reason),
        ..Filter::default()
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
    let listing = c
        .queue
        .list(target(&q.queue)?, &filter(&q, ""), letters::SHOWN)
        .await?;
    let history = c.queue.history(OPERATIONS_SHOWN).await?;
    Ok(pages::html(
        Some(&viewer),
        letters::list(c.chrome(&viewer), &q, &listing, &history),
    ))
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

#[derive(Debug, Deserialize)]
pub(crate) struct ReplayForm {
    csrf: Option<String>,
    #[serde(default)]
    ids: String,
    #[serde(default)]
    dry_run: Option<String>,
    #[serde(flatten)]
    filter: LetterQuery,
}

/// Replays one message (`ids`) or the list's filter; an empty filter is refused (`no_filter`),
/// as the CLI and the admin API refuse it without an explicit `all`.
pub(crate) async fn replay(
    State(c): State<Console>,
    headers: HeaderMap,
    f: Result<Form<ReplayForm>, FormRejection>,
) -> Result<Response, ConsoleError> {
    let viewer = ops_viewer(&c, &headers)?;
    let f = form(f)?;
    viewer.check_csrf(f.csrf.as_deref())?;
    let queue = target(&f.filter.queue)?;
    let options = ReplayOptions {
        dry_run: f.dry_run.is_some(),
        ..ReplayOptions::default()
    };
    let report = c
        .queue
        .replay(queue, &filter(&f.filter, &f.ids), &options, &viewer.actor())
        .await?;
    tracing::info!(actor = %viewer.actor(), dry_run = report.dry_run, done = report.done, "Console: replay.");
    Ok(pages::html(
        Some(&viewer),
        letters::report(c.chrome(&viewer), queue.as_str(), &report),
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
    let report = c
        .queue
        .purge(
            queue,
            &filter(&f.filter, ""),
            dry_run,
            false,
            &viewer.actor(),
        )
        .await?;
    tracing::info!(actor = %viewer.actor(), dry_run, done = report.done, "Console: purge.");
    Ok(pages::html(
        Some(&viewer),
        letters::report(c.chrome(&viewer), queue.as_str(), &report),
    ))
}

//! Which record an `_errors` item is about, if that can be known, and the
//! item's fingerprint for de-duplication. Pure apart from reading the
//! journal.
//!
//! - The richer item shape names its `request_id` and `record_id`: it is
//!   tied through the journal. A request this process does not remember may
//!   be another worker's, so it is left for that worker until it is older
//!   than the journal itself, then counted as `unknown_request`.
//! - The documented shape has only a message and a path. It is tied to a
//!   record only when that cannot be wrong: this process is the only worker
//!   (no other could have pushed it) and exactly one remembered record
//!   carries a field at the error's path. Otherwise it is counted as
//!   `no_request_id` and logged: a guess would dead-letter the wrong event.

use std::time::Duration;

use sha2::{Digest, Sha256};
use so_ometria::PushError;

use super::journal::{Journal, PushedRecord, Request};

/// What to do about one `_errors` item.
#[derive(Debug)]
pub(crate) enum Verdict {
    /// Its push already reported it (`rejected > 0`) and it was
    /// dead-lettered then.
    HandledAtPush,
    /// Tied to this record of this request.
    Rejected {
        request: Box<Request>,
        record: Box<PushedRecord>,
    },
    /// Cannot be tied to a record: counted and logged with this reason.
    Unattributed(&'static str),
    /// Perhaps another worker's push: leave it to that worker for now.
    NotYet,
}

/// Ties `error` to a record. `single_worker`: no other worker process
/// could have pushed for this account; `listed_for`: how long this process
/// has seen the item listed.
pub(crate) fn attribute(
    error: &PushError,
    journal: &Journal,
    single_worker: bool,
    listed_for: Duration,
) -> Verdict {
    let path = error.error_path.as_deref().unwrap_or("root");
    let Some(request_id) = error.request_id.as_deref() else {
        return documented(journal, path, single_worker);
    };
    let Some(request) = journal.request(request_id) else {
        return if listed_for > journal.keeps_for() || single_worker {
            Verdict::Unattributed("unknown_request")
        } else {
            Verdict::NotYet
        };
    };
    if request.handled_at_push {
        return Verdict::HandledAtPush;
    }
    let type_matches = |r: &&PushedRecord| {
        error
            .record_type
            .as_deref()
            .is_none_or(|t| t == r.record_type.as_str())
    };
    let found: Vec<&PushedRecord> = match error.record_id.as_deref() {
        Some(id) => request
            .records
            .iter()
            .filter(type_matches)
            .filter(|r| r.id == id)
            .collect(),
        None => request
            .records
            .iter()
            .filter(type_matches)
            .filter(|r| r.carries(path))
            .collect(),
    };
    match found.as_slice() {
        [one] => Verdict::Rejected {
            record: Box::new((*one).clone()),
            request: Box::new(request.clone()),
        },
        _ => Verdict::Unattributed("unknown_record"),
    }
}

fn documented(journal: &Journal, path: &str, single_worker: bool) -> Verdict {
    if !single_worker {
        return Verdict::Unattributed("no_request_id");
    }
    let candidates = journal.candidates(path);
    if !candidates.is_empty() && candidates.iter().all(|(req, _)| req.handled_at_push) {
        return Verdict::HandledAtPush;
    }
    match candidates.as_slice() {
        [(request, record)] => Verdict::Rejected {
            request: Box::new(request.clone()),
            record: Box::new(record.clone()),
        },
        _ => Verdict::Unattributed("no_request_id"),
    }
}

/// One fingerprint per item, in the listing's order (newest first). Items
/// of the documented shape that are identical (same message and path) are
/// told apart by their rank among their twins counted from the oldest, so
/// a new twin at the top gets a new fingerprint; once Ometria's list of 100
/// is full and old twins fall off the end, a new twin can go unnoticed (the
/// shape gives nothing better to tell them apart).
pub(crate) fn fingerprints(errors: &[PushError]) -> Vec<String> {
    let bases: Vec<String> = errors.iter().map(base).collect();
    let mut out = vec![String::new(); errors.len()];
    let mut twins: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (i, b) in bases.iter().enumerate().rev() {
        let rank = twins.entry(b.as_str()).or_default();
        out[i] = digest(&format!("{b}\u{1f}{rank}"));
        *rank += 1;
    }
    out
}

fn base(e: &PushError) -> String {
    [
        e.request_id.as_deref(),
        e.record_type.as_deref(),
        e.record_id.as_deref(),
        Some(e.error_message.as_str()),
        e.error_path.as_deref(),
        e.timestamp.as_deref(),
    ]
    .iter()
    .map(|f| f.unwrap_or("\u{0}"))
    .collect::<Vec<_>>()
    .join("\u{1f}")
}

/// Hex SHA-256, shortened: a key, not a secret.
pub(crate) fn digest(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::rejections::kept::contact_for_tests as record;

    fn plain(path: &str) -> PushError {
        PushError {
            error_message: "not a valid value".to_owned(),
            error_path: Some(path.to_owned()),
            request_id: None,
            record_type: None,
            record_id: None,
            timestamp: None,
        }
    }

    fn rich(request: &str, id: &str) -> PushError {
        PushError {
            request_id: Some(request.to_owned()),
            record_type: Some("contact".to_owned()),
            record_id: Some(id.to_owned()),
            timestamp: Some("2026-11-20T10:00:00Z".to_owned()),
            ..plain("root > lastname")
        }
    }

    fn journal() -> Journal {
        let j = Journal::new(Duration::from_secs(60), 1 << 20);
        j.record(
            "r1",
            false,
            &[
                record("c1", json!({"lastname": "x"})),
                record("c2", json!({"email": "e"})),
            ],
            |_| Vec::new(),
        );
        j
    }

    fn rejected_id(v: &Verdict) -> Option<&str> {
        match v {
            Verdict::Rejected { record, .. } => Some(record.id.as_str()),
            _ => None,
        }
    }

    #[tokio::test]
    async fn the_rich_shape_is_tied_by_request_and_record_id() {
        let j = journal();
        let v = attribute(&rich("r1", "c2"), &j, false, Duration::ZERO);
        assert_eq!(rejected_id(&v), Some("c2"));
        assert!(matches!(
            attribute(&rich("r1", "zz"), &j, false, Duration::ZERO),
            Verdict::Unattributed("unknown_record")
        ));
    }

    #[tokio::test]
    async fn another_workers_request_waits_then_counts_as_unknown() {
        let j = journal();
        assert!(matches!(
            attribute(&rich("r9", "c1"), &j, false, Duration::from_secs(5)),
            Verdict::NotYet
        ));
        assert!(matches!(
            attribute(&rich("r9", "c1"), &j, false, Duration::from_secs(61)),
            Verdict::Unattributed("unknown_request")
        ));
        assert!(matches!(
            attribute(&rich("r9", "c1"), &j, true, Duration::ZERO),
            Verdict::Unattributed("unknown_request")
        ));
    }

    #[tokio::test]
    async fn the_documented_shape_is_tied_only_when_it_cannot_be_wrong() {
        let j = journal();
        let v = attribute(&plain("root > lastname"), &j, true, Duration::ZERO);
        assert_eq!(rejected_id(&v), Some("c1"), "one record has a lastname");
        for (path, single) in [
            ("root > lastname", false),
            ("root", true),
            ("root > phone", true),
        ] {
            assert!(
                matches!(
                    attribute(&plain(path), &j, single, Duration::ZERO),
                    Verdict::Unattributed("no_request_id")
                ),
                "{path} single={single}"
            );
        }
    }

    #[tokio::test]
    async fn errors_of_a_push_that_reported_them_are_left_alone() {
        let j = Journal::new(Duration::from_secs(60), 1 << 20);
        j.record(
            "r1",
            true,
            &[record("c1", json!({"lastname": "x"}))],
            |_| Vec::new(),
        );
        assert!(matches!(
            attribute(&rich("r1", "c1"), &j, false, Duration::ZERO),
            Verdict::HandledAtPush
        ));
        assert!(matches!(
            attribute(&plain("root > lastname"), &j, true, Duration::ZERO),
            Verdict::HandledAtPush
        ));
    }

    #[test]
    fn twins_of_the_documented_shape_keep_their_fingerprints_as_new_ones_arrive() {
        let before = fingerprints(&[plain("root > a"), plain("root > a")]);
        let after = fingerprints(&[plain("root > a"), plain("root > a"), plain("root > a")]);
        assert_ne!(before[0], before[1]);
        assert_eq!(&after[1..], &before[..], "the older two are unchanged");
        assert_ne!(
            fingerprints(&[rich("r1", "c1")]),
            fingerprints(&[rich("r2", "c1")])
        );
    }
}

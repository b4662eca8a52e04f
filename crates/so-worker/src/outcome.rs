//! An event's fate, from preparation to the ack: one type for every stage
//! ([`crate::prepare`] decides it, [`crate::deliver`] resolves a push,
//! [`crate::dispose`] carries it out).

use std::sync::Arc;
use std::time::Duration;

use so_domain::mapping::MappingError;
use so_domain::ometria::PushRecord;
use so_domain::{Disposition, ParkReason, ReasonCode, SkipReason, Stage};

use crate::accounts::Account;
use crate::pending::Changes;

/// The `outcome` label of the processed-events counter for the outcomes
/// that are not a [`SkipReason`].
pub(crate) const PUSHED: &str = "pushed";
pub(crate) const PARKED: &str = "parked";
pub(crate) const RETRIED: &str = "retried";
pub(crate) const DEAD_LETTERED: &str = "dead_lettered";
pub(crate) const DEFERRED: &str = "deferred";

/// What happens to one event.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Push `records` to `account`; commit `changes` once all of them are
    /// accepted. Delivery turns it into one of the others.
    Push {
        records: Vec<PushRecord>,
        changes: Changes,
        account: Arc<Account>,
    },
    /// Ometria accepted every record: commit `changes`, ack.
    Pushed { changes: Changes },
    /// Nothing to send (`reason` says why): commit `changes`, ack.
    Skipped {
        reason: SkipReason,
        changes: Changes,
    },
    /// Keep the message aside on the parked queue.
    Park(ParkReason),
    /// An abandonment check that may not decide yet: scheduled again
    /// through the shortest delay tier, keeping its due time.
    Deferred,
    /// Re-queue through a retry tier, or dead-letter.
    Failed(Failure),
}

impl Outcome {
    /// The outcome of a push, once delivery knows how its records fared.
    pub(crate) fn delivered(changes: Changes, fate: Disposition) -> Outcome {
        match Failure::from_disposition(fate, Stage::Push) {
            None => Outcome::Pushed { changes },
            Some(f) => Outcome::Failed(f),
        }
    }

    /// The state this outcome commits, if it commits any.
    pub(crate) fn changes(&self) -> Option<&Changes> {
        match self {
            Outcome::Push { changes, .. }
            | Outcome::Pushed { changes }
            | Outcome::Skipped { changes, .. } => Some(changes),
            Outcome::Park(_) | Outcome::Deferred | Outcome::Failed(_) => None,
        }
    }
}

/// A failure to process an event, already classified: the retry or
/// dead-letter reasons are [`ReasonCode`]s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// Transient: a broker retry tier, no sooner than `after`.
    Retry {
        reason: ReasonCode,
        detail: String,
        after: Option<Duration>,
    },
    /// Permanent: the dead-letter queue.
    DeadLetter {
        stage: Stage,
        reason: ReasonCode,
        detail: String,
    },
}

impl Failure {
    /// A transient failure without a minimum wait.
    pub(crate) fn retry(reason: ReasonCode, detail: impl Into<String>) -> Failure {
        Failure::Retry {
            reason,
            detail: detail.into(),
            after: None,
        }
    }

    /// The same failure, told with `detail`.
    pub(crate) fn with_detail(mut self, detail: String) -> Failure {
        match &mut self {
            Failure::Retry { detail: d, .. } | Failure::DeadLetter { detail: d, .. } => *d = detail,
        }
        self
    }

    /// A classified attempt as a failure at `stage`; `None` when it is done.
    pub(crate) fn from_disposition(d: Disposition, stage: Stage) -> Option<Failure> {
        match d {
            Disposition::Done => None,
            Disposition::Retry {
                after,
                reason,
                detail,
            } => Some(Failure::Retry {
                reason,
                detail,
                after,
            }),
            Disposition::DeadLetter { reason, detail } => Some(Failure::DeadLetter {
                stage,
                reason,
                detail,
            }),
        }
    }
}

impl From<so_store::Error> for Failure {
    fn from(e: so_store::Error) -> Failure {
        let detail = e.to_string();
        if e.is_transient() {
            Failure::retry(ReasonCode::StoreUnavailable, detail)
        } else {
            Failure::DeadLetter {
                stage: Stage::Store,
                reason: ReasonCode::Internal,
                detail,
            }
        }
    }
}

impl From<MappingError> for Failure {
    fn from(e: MappingError) -> Failure {
        let detail = e.to_string();
        match e {
            // A refund can overtake its order (retries, backfills): wait for it.
            MappingError::OrderStateMissing { .. } => {
                Failure::retry(ReasonCode::OrderNotYetSeen, detail)
            }
            MappingError::RecordTooLarge { .. } => Failure::DeadLetter {
                stage: Stage::Map,
                reason: ReasonCode::RecordTooLarge,
                detail,
            },
            _ => Failure::DeadLetter {
                stage: Stage::Map,
                reason: ReasonCode::InvalidPayload,
                detail,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_push_settles_by_how_its_records_fared() {
        assert!(matches!(
            Outcome::delivered(Changes::default(), Disposition::Done),
            Outcome::Pushed { .. }
        ));
        let rejected = Disposition::DeadLetter {
            reason: ReasonCode::OmetriaRecordRejected,
            detail: "no".to_owned(),
        };
        let Outcome::Failed(failure) = Outcome::delivered(Changes::default(), rejected) else {
            panic!("a rejected record fails its event");
        };
        assert_eq!(
            failure,
            Failure::DeadLetter {
                stage: Stage::Push,
                reason: ReasonCode::OmetriaRecordRejected,
                detail: "no".to_owned(),
            }
        );
    }

    #[test]
    fn a_refund_before_its_order_waits_for_it() {
        let early = Failure::from(MappingError::OrderStateMissing {
            order_id: so_domain::ShopifyId::new(1),
            refund_id: so_domain::ShopifyId::new(2),
        });
        assert!(matches!(
            early,
            Failure::Retry {
                reason: ReasonCode::OrderNotYetSeen,
                after: None,
                ..
            }
        ));
        let retold = early.with_detail("later".to_owned());
        assert!(matches!(retold, Failure::Retry { detail, .. } if detail == "later"));
    }
}

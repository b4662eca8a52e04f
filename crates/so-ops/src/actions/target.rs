//! Which queue an action works on.

use serde::Serialize;
use so_queue::Broker;

use crate::OpsError;

/// Which queue an action works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TargetQueue {
    /// `<prefix>.dlq`.
    #[default]
    DeadLetter,
    /// `<prefix>.parked`: unsupported topics, paused shops, privacy topics.
    Parked,
}

impl TargetQueue {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetQueue::DeadLetter => "dead_letter",
            TargetQueue::Parked => "parked",
        }
    }

    pub fn parse(raw: &str) -> Result<TargetQueue, OpsError> {
        match raw {
            "dlq" | "dead_letter" | "dead-letter" => Ok(TargetQueue::DeadLetter),
            "parked" => Ok(TargetQueue::Parked),
            other => Err(OpsError::invalid(
                "queue",
                format!("{other:?}: expected `dlq` or `parked`"),
            )),
        }
    }

    pub(super) fn name(self, broker: &Broker) -> String {
        match self {
            TargetQueue::DeadLetter => broker.names().dead_letter_queue(),
            TargetQueue::Parked => broker.names().parked_queue(),
        }
    }
}

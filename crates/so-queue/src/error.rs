//! Errors of the queue adapter.

/// Infrastructure errors (connecting, declaring, reading stats).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("not connected to RabbitMQ")]
    NotConnected,
    #[error("no connection to the broker within {0:?}")]
    ConnectTimeout(std::time::Duration),
    #[error("AMQP operation `{op}` failed")]
    Amqp {
        op: &'static str,
        #[source]
        source: lapin::Error,
    },
    #[error("message metadata is invalid: {0}")]
    Codec(String),
    #[error("publishing connection: `{op}` failed: {reason}")]
    Publishing { op: &'static str, reason: String },
}

impl Error {
    pub(crate) fn amqp(op: &'static str) -> impl FnOnce(lapin::Error) -> Error {
        move |source| Error::Amqp { op, source }
    }
}

/// Why a publish was not confirmed as stored. Every variant means the
/// message may not be queued, so the caller must not acknowledge upstream.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("not connected to RabbitMQ")]
    NotConnected,
    #[error("the broker is blocking publishers (resource alarm)")]
    Blocked,
    #[error("the broker nacked the message")]
    Nacked,
    #[error("the broker returned the message as unroutable")]
    Returned,
    #[error("no confirm within {0:?}")]
    Timeout(std::time::Duration),
    #[error("publish failed on the channel")]
    Channel(#[source] ChannelError),
}

/// Why a channel could not carry a publish.
#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    #[error(transparent)]
    Client(#[from] lapin::Error),
    /// The publishing connection or its channel closed (`publish_conn`).
    #[error("{0}")]
    Closed(String),
}

impl PublishError {
    /// Bounded label for metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            PublishError::NotConnected => "not_connected",
            PublishError::Blocked => "blocked",
            PublishError::Nacked => "nacked",
            PublishError::Returned => "returned",
            PublishError::Timeout(_) => "timeout",
            PublishError::Channel(_) => "channel_error",
        }
    }
}

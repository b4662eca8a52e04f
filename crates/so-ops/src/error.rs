//! Errors of operator actions.

/// Why an operator action could not be done.
#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    /// A filter value or option is malformed; names the field.
    #[error("invalid `{field}`: {detail}")]
    InvalidInput { field: &'static str, detail: String },
    /// Replay and purge need a filter, ids or an explicit `all`.
    #[error("no filter given: name ids or filters, or say `all` explicitly")]
    NoFilter,
    #[error("no message with id `{0}` in the queue")]
    NotFound(String),
    #[error("no data export with id `{0}` (unknown or expired)")]
    ExportNotFound(String),
    #[error("RabbitMQ: {0}")]
    Queue(#[from] so_queue::Error),
    #[error("RabbitMQ did not confirm a republish: {0}")]
    Publish(#[from] so_queue::PublishError),
    #[error("the store: {0}")]
    Store(#[from] so_store::Error),
    #[error("no shop `{0}` is served (neither in [shops] nor in the store)")]
    UnknownShop(String),
    /// The shop is listed in the TOML file; its settings change there.
    #[error(
        "shop `{0}` is managed as code: change its settings in [shops.\"{0}\"] of the configuration file"
    )]
    ManagedAsCode(String),
    /// Settings refused, each problem naming its key (`settings.lists.subscribers: ...`).
    #[error("invalid settings: {}", .0.join("; "))]
    InvalidSettings(Vec<String>),
}

impl OpsError {
    pub(crate) fn invalid(field: &'static str, detail: impl Into<String>) -> OpsError {
        OpsError::InvalidInput {
            field,
            detail: detail.into(),
        }
    }

    /// A stable code for API bodies and logs.
    pub fn code(&self) -> &'static str {
        match self {
            OpsError::InvalidInput { .. } => "invalid_input",
            OpsError::NoFilter => "no_filter",
            OpsError::NotFound(_) | OpsError::ExportNotFound(_) => "not_found",
            OpsError::Queue(_) | OpsError::Publish(_) => "broker_unavailable",
            OpsError::Store(_) => "store_unavailable",
            OpsError::UnknownShop(_) => "unknown_shop",
            OpsError::ManagedAsCode(_) => "managed_as_code",
            OpsError::InvalidSettings(_) => "invalid_settings",
        }
    }
}

/// Why a sync job stopped.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(
        "shops.\"{0}\".admin has neither access_token nor client_id and client_secret: the Admin API cannot be used for this shop"
    )]
    NoAdminAccess(String),
    #[error("shops.\"{0}\" has no Ometria api_key (neither its own nor [ometria])")]
    NoOmetriaAccount(String),
    #[error("the Shopify Admin API failed")]
    Admin(#[from] so_shopify_admin::AdminError),
    #[error("the Ometria API failed")]
    Ometria(#[from] so_ometria::Error),
    #[error("the store failed")]
    Store(#[from] so_store::Error),
    #[error("publishing to RabbitMQ failed")]
    Publish(#[from] so_queue::PublishError),
    #[error("{0}")]
    Invalid(String),
    #[error("stopped by a shutdown request; the checkpoint is saved")]
    Interrupted,
    /// Another send of the shop holds its claim (in this process or another).
    #[error("a send of {shop} is running (started by {actor} at {since})")]
    SendRunning {
        shop: String,
        actor: String,
        since: chrono::DateTime<chrono::Utc>,
    },
}

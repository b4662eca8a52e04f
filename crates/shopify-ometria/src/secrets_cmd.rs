//! `shopify-ometria secrets rotate`: re-seals every secret stored in the
//! database under `database.secrets_key`, opening old values with
//! `database.previous_secrets_keys` (docs/operations.md, "Rotating the
//! secrets key").

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub(crate) enum SecretsCommand {
    /// Re-seal every stored secret under the current key.
    Rotate,
}

pub(crate) async fn run(path: Option<&Path>, command: SecretsCommand) -> Result<ExitCode> {
    let config = crate::commands::load(path)?;
    let SecretsCommand::Rotate = command;
    let sealer = config
        .database
        .sealer()
        .map_err(anyhow::Error::msg)?
        .context("database.secrets_key is not set: nothing to rotate to")?;
    let store = crate::sync_cmds::open_store(&config).await?;
    let changed = store.rotate_sealed(&sealer).await.context(
        "re-sealing stored secrets (is every earlier key in database.previous_secrets_keys?)",
    )?;
    crate::commands::print_stdout(&format!(
        "{changed} row(s) re-sealed under key {}.\n",
        sealer.current_id()
    ))?;
    Ok(ExitCode::SUCCESS)
}

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
    let shops = reseal_shops(&store, &sealer).await?;
    crate::commands::print_stdout(&format!(
        "{} row(s) re-sealed under key {}.\n",
        changed + shops,
        sealer.current_id()
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// Store-managed shops whose secrets were sealed under an earlier key, written again re-sealed
/// (a new version whose audit shows the secrets changed, masked; their values are the same).
async fn reseal_shops(store: &so_store::Store, sealer: &so_store::Sealer) -> Result<u64> {
    let mut changed = 0;
    for row in store.shops().await.context("reading the stored shops")? {
        let mut settings = row.settings.clone();
        let resealed = so_platform::shops_live::reseal_secrets(&mut settings, sealer, &row.domain)
            .map_err(anyhow::Error::msg)
            .context("is every earlier key in database.previous_secrets_keys?")?;
        let Ok(shop) = so_domain::ShopDomain::parse(&row.domain) else {
            continue;
        };
        if resealed {
            let by = so_store::ShopWriter {
                actor: "secrets-rotate",
                now: chrono::Utc::now(),
            };
            store
                .put_shop_settings(&shop, &settings, row.source, by)
                .await
                .with_context(|| format!("re-sealing the secrets of {shop}"))?;
            changed += 1;
        }
    }
    Ok(changed)
}

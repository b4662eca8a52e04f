//! `shopify-ometria send-sample`: signs a bundled Shopify sample payload (or
//! a file) the way Shopify does and posts it to the ingress.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use secrecy::ExposeSecret;

#[path = "sample_list.rs"]
mod sample_list;

#[derive(Debug, clap::Args)]
pub(crate) struct SendSample {
    /// Topic of the sample, e.g. orders/create (`--list` shows them all).
    #[arg(required_unless_present = "list")]
    topic: Option<String>,
    /// Send this file's bytes instead of the bundled sample.
    #[arg(long, value_name = "PATH")]
    file: Option<PathBuf>,
    /// Shop domain to send as.
    #[arg(long, default_value = "demo.myshopify.com")]
    shop: String,
    /// Ingress URL (default: http://<ingress.listen>/webhooks/shopify).
    #[arg(long)]
    url: Option<String>,
    /// Webhook id (default: a fresh UUID, so it is never a duplicate).
    #[arg(long)]
    webhook_id: Option<String>,
    #[arg(long, default_value = "2026-07")]
    api_version: String,
    /// List the bundled samples.
    #[arg(long)]
    list: bool,
}

pub(crate) async fn send(path: Option<&Path>, args: SendSample) -> Result<ExitCode> {
    if args.list {
        for (topic, body) in sample_list::SAMPLES {
            println!("{topic:<48} {} bytes", body.len());
        }
        return Ok(ExitCode::SUCCESS);
    }
    let topic = args.topic.clone().unwrap_or_default();
    let body: Vec<u8> = match &args.file {
        Some(file) => std::fs::read(file).with_context(|| format!("reading --file {}", file.display()))?,
        None => sample_list::SAMPLES
            .iter()
            .find(|(t, _)| *t == topic)
            .map(|(_, b)| b.as_bytes().to_vec())
            .with_context(|| {
                format!("no bundled sample for topic {topic:?}; `send-sample --list` shows them, or pass --file")
            })?,
    };
    let config =
        so_platform::Config::load(path, std::env::vars()).context("loading the configuration")?;
    let shop = so_domain::ShopDomain::parse(&args.shop)
        .map_err(|e| anyhow::anyhow!("--shop {:?}: {e}", args.shop))?;
    let secret = config
        .shops
        .get(shop.as_str())
        .and_then(|s| s.webhook_secrets.as_slice().first())
        .or_else(|| config.shopify.webhook_secrets.as_slice().first())
        .with_context(|| {
            format!(
                "no webhook secret configured for {shop}: set SO_SHOPIFY__WEBHOOK_SECRETS or [shops.\"{shop}\"] webhook_secrets"
            )
        })?;
    let signature = so_shopify::sign(secret.expose_secret(), &body);
    let url = args.url.clone().unwrap_or_else(|| {
        let addr = config.ingress.listen;
        let host = if addr.ip().is_unspecified() {
            "127.0.0.1".to_owned()
        } else {
            addr.ip().to_string()
        };
        format!("http://{host}:{}/webhooks/shopify", addr.port())
    });
    let webhook_id = args
        .webhook_id
        .clone()
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let response = reqwest::Client::new()
        .post(&url)
        .header("Content-Type", "application/json")
        .header("X-Shopify-Topic", &topic)
        .header("X-Shopify-Shop-Domain", shop.as_str())
        .header("X-Shopify-API-Version", &args.api_version)
        .header("X-Shopify-Webhook-Id", &webhook_id)
        .header("X-Shopify-Event-Id", uuid::Uuid::new_v4().to_string())
        .header("X-Shopify-Triggered-At", chrono_now())
        .header("X-Shopify-Hmac-Sha256", signature)
        .body(body)
        .send()
        .await
        .with_context(|| format!("posting to {url}"))?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    println!("{topic} {webhook_id} -> {status} {}", text.trim());
    Ok(if status.is_success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// RFC 3339 with milliseconds, as Shopify sends it.
fn chrono_now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

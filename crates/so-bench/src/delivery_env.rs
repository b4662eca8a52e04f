//! What each `delivery` phase runs against: a fresh queue prefix, a scratch
//! SQLite or PostgreSQL database, the service's environment, and events
//! preloaded onto the work partitions as the ingress would publish them.

use std::time::Duration;

use anyhow::Context;
use futures::stream::{FuturesUnordered, StreamExt};
use secrecy::SecretString;
use so_domain::{ApiVersion, EventMeta, ShopDomain, TopicName, WebhookId, route_payload};
use so_fake_ometria::FakeOmetria;
use so_queue::{AmqpSettings, Broker, Publisher};
use sqlx::Connection;
use tokio_util::sync::CancellationToken;

use crate::delivery::Args;
use crate::events::LifecycleEvent;

const SHOP: &str = "bench-shop.myshopify.com";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Db {
    Sqlite,
    Postgres,
}

/// A scratch database; removed by `drop_db`.
pub(crate) async fn create_db(args: &Args, db: Db, prefix: &str) -> anyhow::Result<String> {
    match db {
        Db::Sqlite => {
            let dir = std::env::temp_dir().join(prefix);
            std::fs::create_dir_all(&dir)?;
            Ok(format!("sqlite://{}/store.db?mode=rwc", dir.display()))
        }
        Db::Postgres => {
            let name = prefix.replace('-', "_");
            let mut conn = sqlx::PgConnection::connect(&args.postgres_url)
                .await
                .context("connecting to PostgreSQL")?;
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .await?;
            let base = args
                .postgres_url
                .rsplit_once('/')
                .map_or(args.postgres_url.as_str(), |(b, _)| b);
            Ok(format!("{base}/{name}"))
        }
    }
}

pub(crate) async fn drop_db(args: &Args, db: Db, prefix: &str) {
    match db {
        Db::Sqlite => {
            let _removed = std::fs::remove_dir_all(std::env::temp_dir().join(prefix));
        }
        Db::Postgres => {
            if let Ok(mut conn) = sqlx::PgConnection::connect(&args.postgres_url).await {
                let q = format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    prefix.replace('-', "_")
                );
                let _dropped = sqlx::query(&q).execute(&mut conn).await;
            }
        }
    }
}

pub(crate) fn fresh_prefix() -> String {
    format!("bench-{}", &uuid::Uuid::new_v4().simple().to_string()[..8])
}

pub(crate) fn service_env(
    prefix: &str,
    db_url: &str,
    fake: &FakeOmetria,
    ops_port: u16,
) -> Vec<(String, String)> {
    vec![
        ("SO_AMQP__URL".into(), String::new()),
        ("SO_AMQP__PREFIX".into(), prefix.into()),
        ("SO_DATABASE__URL".into(), db_url.into()),
        (
            "SO_DATABASE__EMAIL_KEY".into(),
            "bench-email-key-0123".into(),
        ),
        ("SO_OMETRIA__API_URL".into(), fake.url()),
        ("SO_OMETRIA__API_KEY".into(), fake.api_key().into()),
        ("SO_OPS__LISTEN".into(), format!("127.0.0.1:{ops_port}")),
        ("SO_SHOPIFY__WEBHOOK_SECRETS".into(), "bench-secret".into()),
    ]
}

/// [`service_env`], without the email key if `args` says so.
pub(crate) fn env_for(
    args: &Args,
    prefix: &str,
    db_url: &str,
    fake: &FakeOmetria,
    ops_port: u16,
) -> Vec<(String, String)> {
    let mut env = service_env(prefix, db_url, fake, ops_port);
    if args.no_email_key {
        env.retain(|(k, _)| k != "SO_DATABASE__EMAIL_KEY");
    }
    env
}

/// Publishes `events` to the work partitions as the ingress would.
pub(crate) async fn preload(
    url: &str,
    prefix: &str,
    events: &[LifecycleEvent],
) -> anyhow::Result<()> {
    let stop = CancellationToken::new();
    let settings = AmqpSettings {
        url: SecretString::from(url.to_owned()),
        prefix: prefix.to_owned(),
        ..AmqpSettings::default()
    };
    let broker = Broker::start(settings, stop.clone());
    broker
        .wait_connected(Duration::from_secs(20))
        .await
        .context("broker for preloading")?;
    let publisher = Publisher::new(broker);
    let shop = ShopDomain::parse(SHOP)?;
    let mut pending = FuturesUnordered::new();
    for (i, e) in events.iter().enumerate() {
        let topic = TopicName::parse(e.topic)?;
        let entity = route_payload(&topic, &e.body)?;
        let meta = EventMeta {
            webhook_id: WebhookId::parse(&format!("{prefix}-{i}"))?,
            topic,
            shop: shop.clone(),
            api_version: ApiVersion::parse("2026-07")?,
            event_id: None,
            triggered_at: Some(chrono::Utc::now()),
            received_at: chrono::Utc::now(),
            entity,
        };
        let publisher = publisher.clone();
        pending.push(async move { publisher.publish_event(&meta, &e.body).await });
        if pending.len() >= 256
            && let Some(r) = pending.next().await
        {
            r?;
        }
    }
    while let Some(r) = pending.next().await {
        r?;
    }
    stop.cancel();
    Ok(())
}

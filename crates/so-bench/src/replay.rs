//! `replay`: dead letters moved back to the work queues by `so_ops` (the
//! code behind `shopify-ometria dlq replay` and the admin API), with no
//! `--rate`, against the raw confirmed-publish rate of the same broker with
//! the same message size and the same window as the baseline.

use std::time::{Duration, Instant};

use so_domain::{
    ApiVersion, EntityKey, EventMeta, ReasonCode, ShopDomain, Stage, TopicName, WebhookId,
};
use so_ops::{Filter, QueueOps, ReplayOptions, TargetQueue};
use so_queue::{Broker, DeathNote, Publisher};

use crate::{baseline, events};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Dead letters preloaded and replayed.
    #[arg(long, default_value_t = 20_000)]
    messages: usize,
    /// Seconds of the raw publish baseline.
    #[arg(long, default_value_t = 5)]
    baseline_duration: u64,
    #[arg(long, default_value = "amqp://guest:guest@127.0.0.1:5672/%2f")]
    amqp_url: String,
}

pub(crate) async fn run(args: Args) -> anyhow::Result<()> {
    let sample = events::lifecycle(1, 0).remove(0).body;
    let prefix = format!("bench-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    eprintln!("phase 1/3: baseline (raw confirmed publishes, 64 in flight, one channel) ...");
    let baseline = baseline::confirmed_publish_rate(
        &args.amqp_url,
        &format!("{prefix}.baseline"),
        &sample,
        64,
        1,
        Duration::from_secs(args.baseline_duration),
    )
    .await?;

    let scratch = crate::scratch::Scratch::open(&args.amqp_url, &prefix).await?;

    eprintln!("phase 2/3: preloading {} dead letters ...", args.messages);
    preload(&scratch.broker, &sample, args.messages).await?;

    eprintln!("phase 3/3: replaying them ...");
    let ops = QueueOps::new(scratch.broker.clone(), scratch.store.clone());
    let started = Instant::now();
    let report = ops
        .replay(
            TargetQueue::DeadLetter,
            &Filter::default(),
            &ReplayOptions {
                all: true,
                ..ReplayOptions::default()
            },
            "bench",
        )
        .await?;
    let elapsed = started.elapsed().as_secs_f64();
    let rate = report.done as f64 / elapsed;
    let lost = args.messages as u64 - report.done;

    scratch.close(&args.amqp_url, &prefix).await;

    println!("replay benchmark (mean body {} B)", sample.len());
    println!("{:<52} {:>12}", "figure", "value");
    println!(
        "{:<52} {:>12.0}",
        "baseline: raw confirmed publishes/s", baseline
    );
    println!("{:<52} {:>12}", "dead letters replayed", report.done);
    println!(
        "{:<52} {:>12.0}",
        "replayed messages/s (--rate unset)", rate
    );
    println!("{:<52} {:>12.2}", "ratio to baseline", rate / baseline);
    println!("{:<52} {:>12}", "left behind", lost);
    let json = serde_json::json!({
        "bench": "replay",
        "messages": args.messages,
        "replayed": report.done,
        "replay_per_s": (rate * 100.0).round() / 100.0,
        "baseline_publish_per_s": (baseline * 100.0).round() / 100.0,
        "ratio": ((rate / baseline) * 100.0).round() / 100.0,
        "status": report.status,
        "lost": lost,
    });
    println!("{json}");
    Ok(())
}

/// Dead letters as the worker writes them: persistent, with death headers.
async fn preload(broker: &Broker, body: &[u8], n: usize) -> anyhow::Result<()> {
    let publisher = Publisher::new(broker.clone());
    let note = DeathNote {
        stage: Stage::Push.as_str(),
        reason: ReasonCode::OmetriaRecordRejected.as_str(),
        detail: "bench",
        attempts: 1,
    };
    let mut pending = futures::stream::FuturesUnordered::new();
    for i in 0..n {
        let meta = EventMeta {
            webhook_id: WebhookId::parse(&uuid::Uuid::new_v4().to_string())?,
            topic: TopicName::parse("orders/updated")?,
            shop: ShopDomain::parse("bench-shop.myshopify.com")?,
            api_version: ApiVersion::parse("2026-07")?,
            event_id: None,
            triggered_at: None,
            received_at: chrono::Utc::now(),
            entity: EntityKey::Order(1_000_000 + i as u64),
        };
        let envelope = so_queue::Envelope::event(&meta);
        let p = publisher.clone();
        let note = note.clone();
        pending.push(async move { p.dead_letter("work.0", &envelope, body, &note).await });
        if pending.len() >= 256 {
            use futures::StreamExt as _;
            if let Some(r) = pending.next().await {
                r?;
            }
        }
    }
    use futures::StreamExt as _;
    while let Some(r) = pending.next().await {
        r?;
    }
    Ok(())
}

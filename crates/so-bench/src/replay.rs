//! `replay`: dead letters moved back to the work queues by `so_ops` (the
//! code behind `shopify-ometria dlq replay` and the admin API), with no
//! `--rate`, against the raw confirmed-publish rate of the same broker with
//! the same message size and the same window as the baseline. Loss is read
//! from the broker, not from the replay's own report: the dead letters on
//! the queue before, the messages on the work queues after (no worker
//! consumes them), and the dead-letter queue must be empty; any difference
//! fails the run (exit 2, after the JSON line).

use std::time::{Duration, Instant};

use so_domain::{
    ApiVersion, EntityKey, EventMeta, ReasonCode, ShopDomain, Stage, TopicName, WebhookId,
};
use so_ops::{Filter, QueueOps, ReplayOptions, TargetQueue};
use so_queue::{Broker, DeathNote, Publisher};

use crate::{baseline, events, queue_depths};

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
    let sample = events::lifecycle(1, 0, events::Mix::OrdersOnly)
        .remove(0)
        .body;
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
    let n = args.messages as u64;
    let before = queue_depths::settle(&scratch.broker, SETTLE, |d| {
        queue_depths::of(d, "dead_letter") >= n
    })
    .await?;
    let preloaded = queue_depths::of(&before, "dead_letter");
    anyhow::ensure!(
        queue_depths::of(&before, "work") == 0,
        "work queues not empty before the replay"
    );

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
    let after = queue_depths::settle(&scratch.broker, SETTLE, |d| {
        queue_depths::of(d, "work") >= preloaded && queue_depths::of(d, "dead_letter") == 0
    })
    .await?;
    let on_work = queue_depths::of(&after, "work");
    let dlq_left = queue_depths::of(&after, "dead_letter");
    let lost = preloaded.saturating_sub(on_work);
    let extra = on_work.saturating_sub(preloaded);

    scratch.close(&args.amqp_url, &prefix).await;

    println!("replay benchmark (mean body {} B)", sample.len());
    println!("{:<52} {:>12}", "figure", "value");
    println!(
        "{:<52} {:>12.0}",
        "baseline: raw confirmed publishes/s", baseline
    );
    println!(
        "{:<52} {:>12}",
        "dead letters on the queue before", preloaded
    );
    println!(
        "{:<52} {:>12}",
        "replayed, by the command's report", report.done
    );
    println!("{:<52} {:>12}", "on the work queues after", on_work);
    println!("{:<52} {:>12}", "left on the dead-letter queue", dlq_left);
    println!("{:<52} {:>12}", "on the work queues twice or more", extra);
    println!(
        "{:<52} {:>12.0}",
        "replayed messages/s (--rate unset)", rate
    );
    println!("{:<52} {:>12.2}", "ratio to baseline", rate / baseline);
    println!("{:<52} {:>12}", "lost (not on the work queues)", lost);
    let json = serde_json::json!({
        "bench": "replay",
        "messages": args.messages,
        "preloaded": preloaded,
        "replayed": report.done,
        "on_work_queues": on_work,
        "dlq_left": dlq_left,
        "extra": extra,
        "replay_per_s": (rate * 100.0).round() / 100.0,
        "baseline_publish_per_s": (baseline * 100.0).round() / 100.0,
        "ratio": ((rate / baseline) * 100.0).round() / 100.0,
        "status": report.status,
        "lost": lost,
    });
    println!("{json}");
    if lost > 0 || dlq_left > 0 || extra > 0 || preloaded != n {
        std::process::exit(2);
    }
    Ok(())
}

/// How long a queue count may lag the confirms.
const SETTLE: Duration = Duration::from_secs(10);

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

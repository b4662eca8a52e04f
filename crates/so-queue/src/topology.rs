//! Declares the whole topology at start-up. Declarations are idempotent as
//! long as the arguments do not change; a changed argument makes RabbitMQ
//! refuse the declaration (PRECONDITION_FAILED), which is reported at start
//! rather than silently running on a different topology.
//!
//! ```text
//! ingest (direct, AE -> unrouted) --work.N--> work.N (quorum, single active consumer)
//!                                 --parked--> parked
//! work.N --delivery limit--> dead (fanout) --> dlq
//! retry (headers, so-retry-tier=S) --> retry.Ss (TTL S) --expired--> ingest (same routing key)
//! dead (fanout) + ingest --parked--> letter-index (copies for the operators' index)
//! ```

use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Channel, ExchangeKind};

use crate::codec;
use crate::{AmqpSettings, Error, Names};

/// Delivery limit of the queues operators browse: high enough that no number
/// of listings dead-letters (or, for the DLQ, drops) a message.
const BROWSE_DELIVERY_LIMIT: i64 = 1_000_000_000;

/// Header on retried messages naming the delay tier (seconds). Not `x-…`:
/// a headers exchange ignores `x-` headers when it matches, so a binding on
/// one matches every message and each retry went to every tier (found by
/// the fault suite: every retried event came back once per tier).
pub const RETRY_TIER_HEADER: &str = "so-retry-tier";

/// The header name of releases before the fix; its bindings are removed.
const LEGACY_RETRY_TIER_HEADER: &str = "x-retry-tier";

fn table(entries: &[(&str, AMQPValue)]) -> FieldTable {
    let mut t = FieldTable::default();
    for (k, v) in entries {
        t.insert((*k).into(), v.clone());
    }
    t
}

/// Quorum queues even on one node: fsync before confirm, a delivery limit
/// against poison messages, and at-least-once dead-lettering
/// (docs: rabbitmq.com/docs/quorum-queues, shared/reference/rabbitmq.md §1.3).
fn quorum(extra: &[(&str, AMQPValue)]) -> FieldTable {
    let mut t = table(extra);
    t.insert("x-queue-type".into(), codec::text("quorum"));
    t
}

async fn exchange(
    ch: &Channel,
    name: &str,
    kind: ExchangeKind,
    args: FieldTable,
) -> Result<(), Error> {
    let opts = ExchangeDeclareOptions {
        durable: true,
        ..ExchangeDeclareOptions::default()
    };
    ch.exchange_declare(name.into(), kind, opts, args)
        .await
        .map_err(Error::amqp("exchange.declare"))
}

async fn queue(ch: &Channel, name: &str, args: FieldTable) -> Result<(), Error> {
    ch.queue_declare(name.into(), QueueDeclareOptions::durable(), args)
        .await
        .map(|_| ())
        .map_err(Error::amqp("queue.declare"))
}

async fn bind(
    ch: &Channel,
    queue: &str,
    exchange: &str,
    key: &str,
    args: FieldTable,
) -> Result<(), Error> {
    ch.queue_bind(
        queue.into(),
        exchange.into(),
        key.into(),
        QueueBindOptions::default(),
        args,
    )
    .await
    .map_err(Error::amqp("queue.bind"))
}

/// Declares exchanges, queues and bindings for `settings`.
pub(crate) async fn declare(
    ch: &Channel,
    settings: &AmqpSettings,
    names: &Names,
) -> Result<(), Error> {
    let dead = names.dead_exchange();
    let dlq = names.dead_letter_queue();
    exchange(ch, &dead, ExchangeKind::Fanout, FieldTable::default()).await?;
    // Operators browse the DLQ and the parked queue by taking messages and
    // returning them (so_queue::scan). Without a delivery limit RabbitMQ
    // 3.10 requeues a returned message at the back of a quorum queue; with
    // one, it keeps its place. The limit is set so high that browsing never
    // reaches it.
    queue(
        ch,
        &dlq,
        quorum(&[("x-delivery-limit", codec::int(BROWSE_DELIVERY_LIMIT))]),
    )
    .await?;
    bind(ch, &dlq, &dead, "", FieldTable::default()).await?;

    let unrouted = names.unrouted_exchange();
    exchange(ch, &unrouted, ExchangeKind::Fanout, FieldTable::default()).await?;
    queue(ch, &names.unrouted_queue(), quorum(&[])).await?;
    bind(
        ch,
        &names.unrouted_queue(),
        &unrouted,
        "",
        FieldTable::default(),
    )
    .await?;

    let ingest = names.ingest_exchange();
    exchange(
        ch,
        &ingest,
        ExchangeKind::Direct,
        table(&[("alternate-exchange", codec::text(&unrouted))]),
    )
    .await?;

    // At-least-once dead-lettering needs reject-publish overflow; a full
    // queue then nacks publishes, which the ingress answers with 503.
    let guarded = |extra: &[(&str, AMQPValue)]| {
        let mut base = vec![
            ("x-dead-letter-exchange", codec::text(&dead)),
            ("x-dead-letter-strategy", codec::text("at-least-once")),
            ("x-overflow", codec::text("reject-publish")),
            (
                "x-max-length",
                codec::int(i64::from(settings.max_queue_length)),
            ),
        ];
        base.extend(extra.iter().cloned());
        quorum(&base)
    };

    for p in 0..names.partitions() {
        let q = names.work_queue(p);
        let args = guarded(&[
            // One active consumer per partition keeps one entity's events in order.
            ("x-single-active-consumer", AMQPValue::Boolean(true)),
            (
                "x-delivery-limit",
                codec::int(i64::from(settings.delivery_limit)),
            ),
        ]);
        queue(ch, &q, args).await?;
        bind(
            ch,
            &q,
            &ingest,
            &names.work_routing_key(p),
            FieldTable::default(),
        )
        .await?;
    }

    let parked = names.parked_queue();
    queue(
        ch,
        &parked,
        guarded(&[("x-delivery-limit", codec::int(BROWSE_DELIVERY_LIMIT))]),
    )
    .await?;
    bind(
        ch,
        &parked,
        &ingest,
        names.parked_routing_key(),
        FieldTable::default(),
    )
    .await?;

    declare_index(ch, settings, names).await?;

    let retry = names.retry_exchange();
    exchange(ch, &retry, ExchangeKind::Headers, FieldTable::default()).await?;
    for secs in names.delay_queues_secs() {
        let q = names.retry_queue(*secs);
        let ttl_ms = i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX);
        // Queue-level TTL (not per-message) so expiry never waits behind a
        // longer-lived head message; on expiry the message goes back to the
        // ingest exchange with its original routing key, i.e. its partition.
        let args = quorum(&[
            ("x-message-ttl", codec::int(ttl_ms)),
            ("x-dead-letter-exchange", codec::text(&ingest)),
            ("x-dead-letter-strategy", codec::text("at-least-once")),
            ("x-overflow", codec::text("reject-publish")),
        ]);
        queue(ch, &q, args).await?;
        let tier = i64::try_from(*secs).unwrap_or(i64::MAX);
        let match_args = table(&[
            ("x-match", codec::text("all")),
            (RETRY_TIER_HEADER, codec::int(tier)),
        ]);
        bind(ch, &q, &retry, "", match_args).await?;
        // A topology declared by an earlier release also has a binding on
        // the legacy header, which matches everything: remove it.
        let legacy = table(&[
            ("x-match", codec::text("all")),
            (LEGACY_RETRY_TIER_HEADER, codec::int(tier)),
        ]);
        ch.queue_unbind(q.as_str().into(), retry.as_str().into(), "".into(), legacy)
            .await
            .map_err(Error::amqp("queue.unbind"))?;
    }
    Ok(())
}

/// The index queue gets a copy of every message that enters the dead-letter
/// queue (bound to the same fanout) or the parked queue (same routing key on
/// the ingest exchange), so the indexer sees them without any change to the
/// code that dead-letters or parks. Its overflow drops the oldest copy
/// rather than refusing publishes: a stopped indexer must never make the
/// ingress answer 503 or block dead-lettering; what it misses is drift that
/// `dlq reindex` repairs.
async fn declare_index(ch: &Channel, settings: &AmqpSettings, names: &Names) -> Result<(), Error> {
    let index = names.index_queue();
    queue(
        ch,
        &index,
        quorum(&[
            ("x-overflow", codec::text("drop-head")),
            (
                "x-max-length",
                codec::int(i64::from(settings.max_queue_length)),
            ),
        ]),
    )
    .await?;
    bind(
        ch,
        &index,
        &names.dead_exchange(),
        "",
        FieldTable::default(),
    )
    .await?;
    bind(
        ch,
        &index,
        &names.ingest_exchange(),
        names.parked_routing_key(),
        FieldTable::default(),
    )
    .await
}

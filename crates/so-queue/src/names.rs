//! Every exchange and queue name, derived from the configured prefix in one
//! place so no name is spelled twice.

/// Names of the topology objects for one prefix.
#[derive(Debug, Clone)]
pub struct Names {
    prefix: String,
    partitions: u16,
    retry_tiers_secs: Vec<u64>,
    /// Retry tiers and scheduled-check delays together, each once.
    delay_queues_secs: Vec<u64>,
}

/// The names a publish needs, spelled once: the publisher runs per webhook.
#[derive(Debug)]
pub(crate) struct PublishRoutes {
    pub(crate) ingest_exchange: String,
    pub(crate) retry_exchange: String,
    pub(crate) dead_exchange: String,
    work_keys: Vec<String>,
}

impl PublishRoutes {
    pub(crate) fn new(names: &Names) -> PublishRoutes {
        PublishRoutes {
            ingest_exchange: names.ingest_exchange(),
            retry_exchange: names.retry_exchange(),
            dead_exchange: names.dead_exchange(),
            work_keys: (0..names.partitions())
                .map(|p| names.work_routing_key(p))
                .collect(),
        }
    }

    /// The routing key of work partition `partition`.
    pub(crate) fn work_key(&self, partition: u16) -> &str {
        self.work_keys
            .get(usize::from(partition))
            .map_or("", String::as_str)
    }
}

/// What a queue is for (used by stats and dashboards as a bounded label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueRole {
    Work,
    Retry,
    Parked,
    Unrouted,
    DeadLetter,
    /// Copies of what enters the dead-letter and parked queues, for the
    /// operators' index (so_ops::index).
    Index,
}

impl QueueRole {
    pub fn as_str(self) -> &'static str {
        match self {
            QueueRole::Work => "work",
            QueueRole::Retry => "retry",
            QueueRole::Parked => "parked",
            QueueRole::Unrouted => "unrouted",
            QueueRole::DeadLetter => "dead_letter",
            QueueRole::Index => "index",
        }
    }
}

impl Names {
    pub fn new(prefix: &str, partitions: u16, retry_tiers_secs: &[u64]) -> Names {
        Names {
            prefix: prefix.to_owned(),
            partitions,
            retry_tiers_secs: retry_tiers_secs.to_vec(),
            delay_queues_secs: retry_tiers_secs.to_vec(),
        }
    }

    /// Adds delay queues for scheduled checks. A delay equal to a retry
    /// tier shares its queue: both hold a message for that long and then
    /// return it to its partition.
    pub fn with_scheduled_delays(mut self, delays_secs: &[u64]) -> Names {
        self.delay_queues_secs.extend(delays_secs);
        self.delay_queues_secs.sort_unstable();
        self.delay_queues_secs.dedup();
        self
    }

    /// Every delay queue's delay: the retry tiers and the scheduled delays.
    pub fn delay_queues_secs(&self) -> &[u64] {
        &self.delay_queues_secs
    }

    pub fn partitions(&self) -> u16 {
        self.partitions
    }

    /// Direct exchange every event is published to.
    pub fn ingest_exchange(&self) -> String {
        format!("{}.ingest", self.prefix)
    }

    /// Fanout exchange catching anything the ingest exchange cannot route.
    pub fn unrouted_exchange(&self) -> String {
        format!("{}.unrouted", self.prefix)
    }

    pub fn unrouted_queue(&self) -> String {
        format!("{}.unrouted", self.prefix)
    }

    pub fn work_queue(&self, partition: u16) -> String {
        format!("{}.work.{partition}", self.prefix)
    }

    pub fn work_routing_key(&self, partition: u16) -> String {
        format!("work.{partition}")
    }

    pub fn parked_queue(&self) -> String {
        format!("{}.parked", self.prefix)
    }

    pub fn parked_routing_key(&self) -> &'static str {
        "parked"
    }

    /// Headers exchange that routes a retried message to its delay tier by
    /// the `so-retry-tier` header while keeping its original routing key, so
    /// that on expiry it returns to its own partition.
    pub fn retry_exchange(&self) -> String {
        format!("{}.retry", self.prefix)
    }

    pub fn retry_queue(&self, delay_secs: u64) -> String {
        format!("{}.retry.{delay_secs}s", self.prefix)
    }

    pub fn retry_tiers_secs(&self) -> &[u64] {
        &self.retry_tiers_secs
    }

    /// Fanout exchange in front of the dead-letter queue.
    pub fn dead_exchange(&self) -> String {
        format!("{}.dead", self.prefix)
    }

    pub fn dead_letter_queue(&self) -> String {
        format!("{}.dlq", self.prefix)
    }

    /// Copies of every message that enters the dead-letter or parked queue,
    /// consumed by the indexer that keeps the operators' index.
    pub fn index_queue(&self) -> String {
        format!("{}.letter-index", self.prefix)
    }

    /// Every queue with its role, in a stable order.
    pub fn all_queues(&self) -> Vec<(String, QueueRole)> {
        let mut out: Vec<_> = (0..self.partitions)
            .map(|p| (self.work_queue(p), QueueRole::Work))
            .collect();
        out.extend(
            self.delay_queues_secs
                .iter()
                .map(|d| (self.retry_queue(*d), QueueRole::Retry)),
        );
        out.push((self.parked_queue(), QueueRole::Parked));
        out.push((self.unrouted_queue(), QueueRole::Unrouted));
        out.push((self.dead_letter_queue(), QueueRole::DeadLetter));
        out.push((self.index_queue(), QueueRole::Index));
        out
    }
}

-- so-store schema, version 16: the index of the dead-letter and parked queues (issue 17).
--
-- * letter_index: one row per message copy in `<prefix>.dlq` (queue `dead_letter`) or
--   `<prefix>.parked` (queue `parked`), written by the indexer from the copies the topology
--   routes to `<prefix>.letter-index`, or by `dlq reindex` from a scan. It is a cache of the
--   queues: listing reads it instead of walking the queue. copy_key is a hash of the copy's
--   headers and body, the same for the queue's message and its index copy. topic, shop, reason
--   and stage are stored lower-case (filters compare them so). No customer data in clear:
--   payload holds the body with personal data masked (so_domain::pii), or a placeholder when it
--   is not JSON; revealing it reads the queue itself.
--   indexed_at orders the rows (arrival; a reindex writes new rows in queue order), seen_at is
--   when a write last confirmed the row (a reindex drops rows it did not see), removed_at marks
--   a row whose message a replay, purge or release moved (kept a while so a late copy cannot
--   bring it back).
CREATE TABLE IF NOT EXISTS letter_index (
    queue        TEXT   NOT NULL,
    copy_key     TEXT   NOT NULL,
    webhook_id   TEXT   NOT NULL,
    topic        TEXT,
    shop         TEXT,
    entity       TEXT,
    reason       TEXT,
    stage        TEXT,
    detail       TEXT,
    attempts     BIGINT,
    at           BIGINT,
    received_at  BIGINT,
    triggered_at BIGINT,
    routing_key  TEXT   NOT NULL,
    body_bytes   BIGINT NOT NULL,
    headers      TEXT   NOT NULL,
    payload      TEXT   NOT NULL,
    indexed_at   BIGINT NOT NULL,
    seen_at      BIGINT NOT NULL,
    removed_at   BIGINT,
    PRIMARY KEY (queue, copy_key)
);
-- The listing indexes are partial (live rows only: `removed_at IS NULL`, which every listing
-- query says), start with the queue and one filter column and go on with the listing's order
-- (indexed_at, copy_key), so a page is read in order without a sort (PostgreSQL does not take
-- an `IS NULL` key column as fixed for ordering, hence partial rather than a key column), and
-- end with the other filter columns, so a combined filter (a shop and a topic) and a count are
-- answered from the index alone; only the rows of the page are read from the table (whose
-- rows are wide: headers and payload).
CREATE INDEX IF NOT EXISTS letter_index_order
    ON letter_index (queue, indexed_at, copy_key, at, shop, topic, reason, stage)
    WHERE removed_at IS NULL;
CREATE INDEX IF NOT EXISTS letter_index_by_shop
    ON letter_index (queue, shop, indexed_at, copy_key, at, topic, reason, stage)
    WHERE removed_at IS NULL;
CREATE INDEX IF NOT EXISTS letter_index_by_reason
    ON letter_index (queue, reason, indexed_at, copy_key, at, shop, topic, stage)
    WHERE removed_at IS NULL;
CREATE INDEX IF NOT EXISTS letter_index_by_topic
    ON letter_index (queue, topic, indexed_at, copy_key, at, shop, reason, stage)
    WHERE removed_at IS NULL;
CREATE INDEX IF NOT EXISTS letter_index_by_id ON letter_index (queue, webhook_id);
CREATE INDEX IF NOT EXISTS letter_index_seen ON letter_index (queue, seen_at);
CREATE INDEX IF NOT EXISTS letter_index_removed ON letter_index (queue, removed_at)
    WHERE removed_at IS NOT NULL;

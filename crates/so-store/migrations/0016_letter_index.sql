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
-- Every listing index leads with (queue, removed_at) so `removed_at IS NULL` is part of the
-- index search, goes on with one filter column and the listing's order (indexed_at, copy_key),
-- so a page is read in order without a sort, and ends with the other filter columns, so a
-- combined filter (a shop and a topic) and a count are answered from the index alone; only the
-- rows of the page are read from the table (whose rows are wide: headers and payload).
CREATE INDEX IF NOT EXISTS letter_index_order
    ON letter_index (queue, removed_at, indexed_at, copy_key, at, shop, topic, reason, stage);
CREATE INDEX IF NOT EXISTS letter_index_by_shop
    ON letter_index (queue, removed_at, shop, indexed_at, copy_key, at, topic, reason, stage);
CREATE INDEX IF NOT EXISTS letter_index_by_reason
    ON letter_index (queue, removed_at, reason, indexed_at, copy_key, at, shop, topic, stage);
CREATE INDEX IF NOT EXISTS letter_index_by_topic
    ON letter_index (queue, removed_at, topic, indexed_at, copy_key, at, shop, reason, stage);
CREATE INDEX IF NOT EXISTS letter_index_by_id ON letter_index (queue, webhook_id);
CREATE INDEX IF NOT EXISTS letter_index_seen ON letter_index (queue, seen_at);

-- so-store schema, version 18: how far the worker has settled its input, so an abandonment
-- check decides only once every webhook received before it fell due has been processed.
--
-- * partition_progress: per work partition, every message the ingress received before
--   `settled_before` is settled (committed, dead-lettered or parked). Only moves forward;
--   written at most once per batch per partition, and about once a second while idle.
-- * progress_hold: a message sent to a retry tier is not settled yet, whatever its partition's
--   progress says: held from its retry until it is settled for good (keyed by shop and
--   webhook id; `received_at` is the ingress's time, `held_at` when the hold was taken).
CREATE TABLE IF NOT EXISTS partition_progress (
    part           BIGINT NOT NULL PRIMARY KEY,
    settled_before BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS progress_hold (
    shop        TEXT   NOT NULL,
    webhook_id  TEXT   NOT NULL,
    received_at BIGINT NOT NULL,
    held_at     BIGINT NOT NULL,
    PRIMARY KEY (shop, webhook_id)
);

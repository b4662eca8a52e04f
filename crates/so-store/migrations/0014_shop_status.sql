-- so-store schema, version 14: what a shop's status shows that nothing kept before.
--
-- * shop_push: per shop, when Ometria last accepted a push request carrying one of its records
--   (one upsert per shop per delivered batch; only moves forward).
-- * webhook_check: per shop, the last `webhooks check|sync` result: when, in order or not, the
--   kind of subscriptions (shop_specific, none_listed, app_specific_or_none) and the count of
--   each state of the plan after the run.
-- * ometria_rejection: Ometria's asynchronous validation errors tied to a shop (the rejection
--   watcher's dead-lettered records), keyed as ometria_error_seen is (account digest and item
--   fingerprint, so a second watcher's record is a no-op); `reason` is record type, field path
--   and a masked message, never record contents. Pruned with ometria_error_seen.
CREATE TABLE IF NOT EXISTS shop_push (
    shop         TEXT   NOT NULL PRIMARY KEY,
    last_push_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS webhook_check (
    shop       TEXT    NOT NULL PRIMARY KEY,
    checked_at BIGINT  NOT NULL,
    in_order   BIGINT  NOT NULL,
    kind       TEXT    NOT NULL,
    states     TEXT    NOT NULL
);
CREATE TABLE IF NOT EXISTS ometria_rejection (
    account     TEXT   NOT NULL,
    fingerprint TEXT   NOT NULL,
    shop        TEXT   NOT NULL,
    rejected_at BIGINT NOT NULL,
    reason      TEXT   NOT NULL,
    PRIMARY KEY (account, fingerprint)
);
CREATE INDEX IF NOT EXISTS ometria_rejection_by_shop ON ometria_rejection (shop, rejected_at);

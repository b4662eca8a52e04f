-- so-store schema, version 8: the `_errors` items of Ometria's asynchronous validation that a
-- worker has already handled, so that a watcher running in every worker process (one per
-- Ometria account each) counts, logs and dead-letters each refusal once across the fleet.
--
-- * account: a digest of the Ometria account (endpoint and key), never the key itself.
-- * fingerprint: a digest of the item (see so-worker/src/rejections/fingerprint.rs); no record
--   contents, which may be customer data.
-- * seen_at: when it was first claimed; rows go after `rejections.seen_retention_days`.
CREATE TABLE IF NOT EXISTS ometria_error_seen (
    account     TEXT   NOT NULL,
    fingerprint TEXT   NOT NULL,
    seen_at     BIGINT NOT NULL,
    PRIMARY KEY (account, fingerprint)
);
CREATE INDEX IF NOT EXISTS ometria_error_seen_at ON ometria_error_seen (seen_at);

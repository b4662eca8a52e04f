-- so-store schema, version 6: the jobs beside the webhooks (backfill, consent write-back,
-- reconciliation).
--
-- * sync_state: small per-shop values by name (consent cursor, last completed backfill, last
--   reconciliation), as text.
-- * backfill_checkpoint: where a backfill of one entity of one shop stands: the bulk operation it
--   reads and how many of its lines are safely published, so a killed run resumes there.
-- * consent_decision: every decision of the consent write-back (sent, or skipped and why).
-- * sync_lease: which process runs a scheduled job right now, so several workers do not run it
--   twice.
CREATE TABLE IF NOT EXISTS sync_state (
    shop       TEXT   NOT NULL,
    name       TEXT   NOT NULL,
    value      TEXT   NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (shop, name)
);

CREATE TABLE IF NOT EXISTS backfill_checkpoint (
    shop         TEXT   NOT NULL,
    entity       TEXT   NOT NULL,
    options      TEXT   NOT NULL,
    operation_id TEXT,
    lines_done   BIGINT NOT NULL,
    published    BIGINT NOT NULL,
    started_at   BIGINT NOT NULL,
    finished_at  BIGINT,
    PRIMARY KEY (shop, entity)
);

CREATE TABLE IF NOT EXISTS consent_decision (
    shop            TEXT   NOT NULL,
    profile_id      TEXT   NOT NULL,
    customer_id     BIGINT,
    decision        TEXT   NOT NULL,
    reason          TEXT   NOT NULL,
    decided_at      BIGINT NOT NULL,
    -- The Ometria unsubscribe's own time: with the profile, what a re-read
    -- window recognises as decided already.
    unsubscribed_at BIGINT
);
CREATE INDEX IF NOT EXISTS consent_decision_by_shop ON consent_decision (shop, decided_at);
CREATE INDEX IF NOT EXISTS consent_decision_by_profile ON consent_decision (shop, profile_id, unsubscribed_at);

CREATE TABLE IF NOT EXISTS sync_lease (
    name   TEXT   NOT NULL PRIMARY KEY,
    holder TEXT   NOT NULL,
    until  BIGINT NOT NULL
);

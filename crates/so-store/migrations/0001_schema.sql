-- so-store schema, version 1. One script for SQLite and PostgreSQL: only types and syntax both
-- accept (TEXT, BIGINT, composite primary keys, ON CONFLICT upserts in the queries).
--
-- Conventions:
-- * `shop` is the lower-cased `*.myshopify.com` domain.
-- * Shopify ids are BIGINT (signed 64-bit; real ids stay far below 2^63, larger ones are refused
--   by the store rather than wrapped).
-- * Times are BIGINT microseconds since the Unix epoch, UTC: exact, comparable in SQL, and the
--   same on both backends (sqlx's Any driver has no portable timestamp type).
-- * The only email column is `guest.email`, normalised; no other table holds PII.

-- Dedupe ledger: one row per delivered webhook id. `event_id` (X-Shopify-Event-Id) is shared by
-- the deliveries of one merchant action, so it is a second, non-unique lookup key.
CREATE TABLE IF NOT EXISTS ledger (
    shop       TEXT   NOT NULL,
    webhook_id TEXT   NOT NULL,
    topic      TEXT   NOT NULL,
    event_id   TEXT,
    seen_at    BIGINT NOT NULL,
    PRIMARY KEY (shop, webhook_id)
);
CREATE INDEX IF NOT EXISTS ledger_event ON ledger (shop, topic, event_id);
CREATE INDEX IF NOT EXISTS ledger_seen_at ON ledger (seen_at);

-- Last applied version per (shop, entity kind, entity id). Only ever moves forward.
CREATE TABLE IF NOT EXISTS watermark (
    shop       TEXT   NOT NULL,
    kind       TEXT   NOT NULL,
    entity_id  TEXT   NOT NULL,
    version    BIGINT NOT NULL,
    webhook_id TEXT   NOT NULL,
    PRIMARY KEY (shop, kind, entity_id)
);

-- Customers that are not plain active ones. No row = active.
-- status: 'deleted' | 'redacted' | 'merged' (then merged_into is the kept customer id).
CREATE TABLE IF NOT EXISTS customer_status (
    shop        TEXT   NOT NULL,
    customer_id BIGINT NOT NULL,
    status      TEXT   NOT NULL,
    merged_into BIGINT,
    PRIMARY KEY (shop, customer_id)
);
CREATE INDEX IF NOT EXISTS customer_status_merged_into ON customer_status (shop, merged_into);

-- The guest remembered per (shop, normalised email). The primary key is what makes concurrent
-- first purchases agree on one guest id.
CREATE TABLE IF NOT EXISTS guest (
    shop            TEXT   NOT NULL,
    email           TEXT   NOT NULL,
    guest_id        TEXT   NOT NULL,
    linked_customer BIGINT,
    PRIMARY KEY (shop, email)
);
CREATE UNIQUE INDEX IF NOT EXISTS guest_by_id ON guest (shop, guest_id);
CREATE INDEX IF NOT EXISTS guest_by_customer ON guest (shop, linked_customer);

-- Per-order state (serde JSON of so_domain OrderState; ids are JSON strings, so exact).
CREATE TABLE IF NOT EXISTS order_state (
    shop     TEXT   NOT NULL,
    order_id BIGINT NOT NULL,
    state    TEXT   NOT NULL,
    PRIMARY KEY (shop, order_id)
);

-- Current tag set per customer (serde JSON of TagSet).
CREATE TABLE IF NOT EXISTS customer_tags (
    shop        TEXT   NOT NULL,
    customer_id BIGINT NOT NULL,
    tags        TEXT   NOT NULL,
    PRIMARY KEY (shop, customer_id)
);

-- Variant ids last seen per product (JSON array of decimal strings).
CREATE TABLE IF NOT EXISTS product_variants (
    shop        TEXT   NOT NULL,
    product_id  BIGINT NOT NULL,
    variant_ids TEXT   NOT NULL,
    PRIMARY KEY (shop, product_id)
);

-- Last successful push per Ometria record, for reconciliation. Ometria ids carry no PII.
CREATE TABLE IF NOT EXISTS delivery (
    shop         TEXT   NOT NULL,
    record_type  TEXT   NOT NULL,
    ometria_id   TEXT   NOT NULL,
    delivered_at BIGINT NOT NULL,
    PRIMARY KEY (shop, record_type, ometria_id)
);

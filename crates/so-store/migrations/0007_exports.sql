-- so-store schema, version 7: `customers/data_request` exports, kept in the store instead of on
-- one pod's disk (read-only root filesystems on Kubernetes) and served by the admin API.
--
-- * id: derived from (shop, request), so a redelivered webhook lands on the same row.
-- * request: Shopify's data_request id, or the webhook id when the payload has none.
-- * content: the export as JSON text. It is customer data: it is never logged, and rows go when
--   they expire (`worker.export_retention_days`), when the person is redacted, or with the shop.
CREATE TABLE IF NOT EXISTS data_export (
    id          TEXT   NOT NULL PRIMARY KEY,
    shop        TEXT   NOT NULL,
    request     TEXT   NOT NULL,
    customer_id BIGINT,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    content     TEXT   NOT NULL
);
CREATE INDEX IF NOT EXISTS data_export_shop ON data_export (shop, created_at);
CREATE INDEX IF NOT EXISTS data_export_expires ON data_export (expires_at);

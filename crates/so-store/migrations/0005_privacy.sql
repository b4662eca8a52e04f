-- so-store schema, version 5: privacy requests and shop lifecycle.
--
-- * suppressed_email: SHA-256 fingerprints (hex) of normalised emails whose person was redacted
--   (`customers/redact`), so a later guest order or backfill with that email does not bring the
--   person back. Not reversible to the email; no other PII.
-- * erasure_request: Ometria data-deletion requests made for redactions, tracked until Ometria
--   reports them completed. Keyed by the email fingerprint (the request itself carried the email).
-- * shop_state: shops that uninstalled the app (their events are parked until they come back)
--   or were redacted (`shop/redact`: everything held for them was deleted).
CREATE TABLE IF NOT EXISTS suppressed_email (
    shop        TEXT   NOT NULL,
    fingerprint TEXT   NOT NULL,
    since       BIGINT NOT NULL,
    PRIMARY KEY (shop, fingerprint)
);

CREATE TABLE IF NOT EXISTS erasure_request (
    shop         TEXT   NOT NULL,
    fingerprint  TEXT   NOT NULL,
    customer_id  BIGINT,
    ometria_id   TEXT,
    requested_at BIGINT NOT NULL,
    completed_at BIGINT,
    summary      TEXT,
    PRIMARY KEY (shop, fingerprint)
);
CREATE INDEX IF NOT EXISTS erasure_request_open ON erasure_request (completed_at);

CREATE TABLE IF NOT EXISTS shop_state (
    shop       TEXT   NOT NULL PRIMARY KEY,
    status     TEXT   NOT NULL,
    changed_at BIGINT NOT NULL
);

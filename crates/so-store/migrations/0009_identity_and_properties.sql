-- so-store schema, version 9: identity under Ometria's post-2024 rule, keyed guest emails and
-- contact property snapshots.
--
-- * guest.email now holds a keyed fingerprint of the normalised email (HMAC-SHA256 under the
--   `database.email_key` setting, 64 hex digits), never the address. SQL cannot compute it, so
--   rows written before this version (they contain `@`) are rewritten by the worker when it
--   starts (`Store::fingerprint_guest_emails`).
-- * guest.claim: 1 when the row only records that a customer's email belongs to that customer
--   (no guest listing exists in Ometria for it), 0 for a real guest listing.
-- * customer_listing: the Ometria listing each customer's records go to, chosen on its first
--   event and never changed: guest_id NULL = its own (`shopify_customers`), else the guest
--   listing it adopted (`shopify_guests`), which owns the customer's email in Ometria.
--   Customers seen before this version keep their own listing (filled in below from every table
--   that names a customer).
-- * contact_properties: every Ometria contact's full current `properties` (JSON object), so
--   each contact record that carries `properties` can carry all of them whether Ometria merges
--   the object key by key or replaces it. `version` counts updates (compare-and-set). No PII:
--   tags, states, behavioural attributes and merchant-mapped fields.
ALTER TABLE guest ADD COLUMN claim BIGINT NOT NULL DEFAULT 0;

CREATE TABLE IF NOT EXISTS customer_listing (
    shop        TEXT   NOT NULL,
    customer_id BIGINT NOT NULL,
    guest_id    TEXT,
    PRIMARY KEY (shop, customer_id)
);

INSERT INTO customer_listing (shop, customer_id)
SELECT shop, CAST(entity_id AS BIGINT) FROM watermark
 WHERE kind IN ('customer', 'email_consent', 'sms_consent', 'customer_tags', 'purchasing_summary')
UNION
SELECT shop, linked_customer FROM guest WHERE linked_customer IS NOT NULL
UNION
SELECT shop, customer_id FROM customer_status
UNION
SELECT shop, customer_id FROM customer_tags;

CREATE TABLE IF NOT EXISTS contact_properties (
    shop       TEXT   NOT NULL,
    contact    TEXT   NOT NULL,
    properties TEXT   NOT NULL,
    version    BIGINT NOT NULL,
    PRIMARY KEY (shop, contact)
);

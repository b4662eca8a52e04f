-- so-store schema, version 4: what the merchant-configurable sync keeps.
--
-- * order_state.contact: the Ometria contact id an order belongs to, so a contact's orders can
--   be summarised (behavioural attributes) without scanning every order.
-- * contact_subscription: the last email subscription state seen per contact, for shops that
--   send only email subscribers (1 = subscribed, 0 = not).
-- * held_record: records of contacts a subscribers-only shop does not send yet; released, with
--   the contact's history, when the contact subscribes. Bodies are Ometria record JSON, merged
--   field by field like Ometria merges pushes. This is the one table besides guest.email that
--   holds personal data: redaction deletes a contact's rows.
-- * behaviour_dirty: contacts whose orders changed since their behavioural attributes were last
--   sent (an outbox: written in the commit that changed the orders, cleared once Ometria took
--   the update). Orders of one contact live in several partitions, so the attributes are
--   computed from committed state by whoever drains the outbox, never inside a batch.
-- * checkout: per checkout token, the last version seen, whether it completed, and the last
--   version an abandonment event was sent for.
ALTER TABLE order_state ADD COLUMN contact TEXT;
CREATE INDEX IF NOT EXISTS order_state_by_contact ON order_state (shop, contact);

CREATE TABLE IF NOT EXISTS contact_subscription (
    shop       TEXT   NOT NULL,
    contact    TEXT   NOT NULL,
    subscribed BIGINT NOT NULL,
    PRIMARY KEY (shop, contact)
);

CREATE TABLE IF NOT EXISTS held_record (
    shop        TEXT   NOT NULL,
    contact     TEXT   NOT NULL,
    record_type TEXT   NOT NULL,
    ometria_id  TEXT   NOT NULL,
    body        TEXT   NOT NULL,
    held_at     BIGINT NOT NULL,
    PRIMARY KEY (shop, contact, record_type, ometria_id)
);

CREATE TABLE IF NOT EXISTS checkout (
    shop             TEXT   NOT NULL,
    token            TEXT   NOT NULL,
    version          BIGINT NOT NULL,
    contact          TEXT,
    completed        BIGINT NOT NULL,
    notified_version BIGINT,
    PRIMARY KEY (shop, token)
);
CREATE INDEX IF NOT EXISTS checkout_by_contact ON checkout (shop, contact);

CREATE TABLE IF NOT EXISTS behaviour_dirty (
    shop        TEXT   NOT NULL,
    contact     TEXT   NOT NULL,
    buyer       TEXT   NOT NULL,
    seq         BIGINT NOT NULL,
    PRIMARY KEY (shop, contact)
);

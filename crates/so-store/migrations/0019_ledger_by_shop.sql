-- so-store schema, version 19: the Shops page's "last webhook" for every shop at once.
--
-- * ledger_by_shop_seen: the newest ledger row of one shop is read from this index alone (one
--   index probe per shop, walking back past the events the service synthesized, whose webhook
--   id it holds), where the ledger's other indexes made it a walk of every shop's rows (65 ms
--   per shop at a million rows on PostgreSQL). One more index entry per webhook the worker
--   records. Building it on an existing ledger takes a few seconds per million rows.
CREATE INDEX IF NOT EXISTS ledger_by_shop_seen ON ledger (shop, seen_at, webhook_id);

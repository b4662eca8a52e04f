-- so-store schema, version 17: a profile send's claim on its shop is a `sync_lease` row
-- (`profile_send:<shop>`), taken by the console, `send-profiles` and the scheduler alike, so
-- one send per shop runs across processes; who started it and when, for "a send of this shop
-- is running (started by X at T)".
ALTER TABLE sync_lease ADD COLUMN actor TEXT;
ALTER TABLE sync_lease ADD COLUMN since BIGINT;

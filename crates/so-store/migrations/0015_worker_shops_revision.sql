-- so-store schema, version 15: the shop revision each worker process has applied (its rules
-- and Ometria accounts rebuilt from it), so a resume releases a shop's parked events only once
-- every live worker stopped parking them, instead of after a fixed wait.
ALTER TABLE worker_member ADD COLUMN shops_revision BIGINT NOT NULL DEFAULT 0;

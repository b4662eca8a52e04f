-- so-store schema, version 3: worker processes that share the work partitions. Each one
-- refreshes its row every few seconds; the live ones (seen within the lease) split the
-- partitions between them, and a process that stops deletes its row so the others take over
-- at once. Only meaningful on PostgreSQL (SQLite serves one process).
-- `partitions` lists the partitions the process is subscribed to (for ops and tests).
CREATE TABLE IF NOT EXISTS worker_member (
    worker_id  TEXT   NOT NULL PRIMARY KEY,
    seen_at    BIGINT NOT NULL,
    partitions TEXT   NOT NULL
);

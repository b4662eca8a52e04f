-- so-store schema, version 2: the audit trail of operator actions on queues (dead-letter replays
-- and purges, releases of parked events). One row per operation, written when it starts and
-- updated when it ends, so an operation killed halfway stays visible as `started`.
CREATE TABLE IF NOT EXISTS queue_operation (
    id          TEXT   NOT NULL PRIMARY KEY,
    started_at  BIGINT NOT NULL,
    finished_at BIGINT,
    actor       TEXT   NOT NULL,
    operation   TEXT   NOT NULL,
    queue       TEXT   NOT NULL,
    filter      TEXT   NOT NULL,
    matched     BIGINT NOT NULL,
    done        BIGINT NOT NULL,
    status      TEXT   NOT NULL,
    detail      TEXT
);
CREATE INDEX IF NOT EXISTS queue_operation_started_at ON queue_operation (started_at);

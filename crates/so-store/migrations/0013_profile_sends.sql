-- so-store schema, version 13: profile sends (send-profiles, on demand or the daily automatic
-- send of a shop).
--
-- * profile_send: one row per send: its shop, kind (on_demand or auto), the choices it ran with
--   (JSON: profiles, list, activity range), when it started and finished, its counts and its
--   outcome (running, completed, failed, interrupted). An interrupted on-demand send resumes
--   under the same id (its checkpoint is backfill_checkpoint `profile_send:<id>`); the last
--   completed send and the last automatic one are what a shop's status shows.
CREATE TABLE IF NOT EXISTS profile_send (
    id          TEXT   NOT NULL PRIMARY KEY,
    shop        TEXT   NOT NULL,
    kind        TEXT   NOT NULL,
    choices     TEXT   NOT NULL,
    started_at  BIGINT NOT NULL,
    finished_at BIGINT,
    read_count  BIGINT NOT NULL,
    matched     BIGINT NOT NULL,
    published   BIGINT NOT NULL,
    outcome     TEXT   NOT NULL,
    detail      TEXT
);
CREATE INDEX IF NOT EXISTS profile_send_by_shop ON profile_send (shop, kind, started_at);

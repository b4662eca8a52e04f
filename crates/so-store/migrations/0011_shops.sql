-- so-store schema, version 11: shops held in the store (issue 16, part 1).
--
-- * shop: one row per shop: its settings as JSON (never secrets: webhook secrets, the Ometria key
--   and Admin API credentials stay in the TOML file and the environment until an encrypted
--   credential store holds them), its current version, whether it is paused, and where it is
--   managed from: `config` (a `[shops]` entry of the TOML file, seeded at start) or `store` (the
--   admin API and the `shops` command). `paused` is operational state for both kinds.
-- * shop_change: the append-only audit: one row per version, who made it and when, and for each
--   changed key its previous and new value (JSON, secrets masked).
-- * shop_revision: one counter raised by every change of any shop, so a process asks "did
--   anything change" with one cheap read.
CREATE TABLE IF NOT EXISTS shop (
    domain     TEXT   NOT NULL PRIMARY KEY,
    version    BIGINT NOT NULL,
    settings   TEXT   NOT NULL,
    paused     BIGINT NOT NULL,
    source     TEXT   NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT   NOT NULL
);

CREATE TABLE IF NOT EXISTS shop_change (
    domain     TEXT   NOT NULL,
    version    BIGINT NOT NULL,
    actor      TEXT   NOT NULL,
    changed_at BIGINT NOT NULL,
    changes    TEXT   NOT NULL,
    PRIMARY KEY (domain, version)
);

CREATE TABLE IF NOT EXISTS shop_revision (
    id       BIGINT NOT NULL PRIMARY KEY,
    revision BIGINT NOT NULL
);
INSERT INTO shop_revision (id, revision) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;

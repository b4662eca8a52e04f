-- so-store schema, version 12: Admin API tokens obtained through the authorization code grant
-- (OAuth install, `shopify-apps.md` §3), and the single-use `state` nonces of installs under way.
--
-- shop_tokens, one row per shop:
-- * access_token, refresh_token: sealed (so-store/src/sealed.rs: `v1.<key id>.<data>`), never
--   plain; NULL once the shop is uninstalled.
-- * generation: bumped by every write of a token pair. A refresh writes the rotated refresh token
--   and the new access token in one UPDATE conditioned on the generation it read, so two
--   processes never both keep the result of one refresh token.
-- * state: connected | refused (Shopify refused the refresh token or the client) | uninstalled.
-- * lease_holder, lease_until: the process refreshing now; others wait and re-read.
-- * installed_at: the last completed install; an `app/uninstalled` triggered before it is stale.
CREATE TABLE IF NOT EXISTS shop_tokens (
    shop               TEXT   NOT NULL PRIMARY KEY,
    state              TEXT   NOT NULL,
    access_token       TEXT,
    access_expires_at  BIGINT,
    refresh_token      TEXT,
    refresh_expires_at BIGINT,
    scopes             TEXT   NOT NULL,
    generation         BIGINT NOT NULL,
    refused_reason     TEXT,
    lease_holder       TEXT,
    lease_until        BIGINT,
    installed_at       BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);

-- oauth_states: `state` nonces handed out by `/shopify/install`, kept here (not in a cookie) so
-- any ingress process can take the callback. nonce_digest is SHA-256 hex of the nonce; a row is
-- deleted when used (single use) and ignored after expires_at.
CREATE TABLE IF NOT EXISTS oauth_states (
    nonce_digest TEXT   NOT NULL PRIMARY KEY,
    shop         TEXT   NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS oauth_states_expiry ON oauth_states (expires_at);

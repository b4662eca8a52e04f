-- so-store schema, version 10: what the mapping needs to remember across events.
--
-- * checkout.cart_token: a checkouts/delete that carries only the cart token (Shopify's
--   samples still do) finds the checkout its create and update stored under `token`.
-- * product_known: product records (parent: variant_id 0, or a variant) this shop delivered to
--   Ometria as a minimal record built from an order line, so an order naming a product Ometria
--   never received pushes it once, not with every order. Products delivered by products/* are
--   known from product_variants.
-- * consent_set: contacts whose email consent this service set explicitly in Ometria (opted in
--   or out). Only over those is NOT_SPECIFIED pushed: over anyone else it could clear an
--   opt-in Ometria received from its own forms. `forced` = 1 once a value was pushed with
--   @force_optin: only another forced value overrides it, so later explicit ones are forced too.
ALTER TABLE checkout ADD COLUMN cart_token TEXT;
CREATE INDEX IF NOT EXISTS checkout_by_cart_token ON checkout (shop, cart_token);

CREATE TABLE IF NOT EXISTS product_known (
    shop       TEXT   NOT NULL,
    product_id BIGINT NOT NULL,
    variant_id BIGINT NOT NULL,
    PRIMARY KEY (shop, product_id, variant_id)
);

CREATE TABLE IF NOT EXISTS consent_set (
    shop    TEXT   NOT NULL,
    contact TEXT   NOT NULL,
    forced  BIGINT NOT NULL,
    PRIMARY KEY (shop, contact)
);

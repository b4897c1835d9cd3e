-- Partner tenancy (issue 13, item 1).
--
-- An API client belongs to a partner organisation, or is explicitly
-- internal. Customers, policies and claims carry the partner they belong
-- to: a customer the partner's client created, a policy on such a customer,
-- a claim on such a policy. NULL means the insurer's own book, which only
-- staff and internal clients see.
CREATE TABLE partners (
    id          TEXT    PRIMARY KEY,
    slug        TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('broker', 'tpa', 'fleet_operator', 'embedded_platform')),
    created_by  TEXT,
    created_at  BIGINT  NOT NULL
);
CREATE UNIQUE INDEX partners_slug_key ON partners (slug);

ALTER TABLE api_clients ADD COLUMN partner_id TEXT REFERENCES partners (id);
-- 1 = sees every organisation's records; granted by an administrator only.
ALTER TABLE api_clients ADD COLUMN internal BIGINT NOT NULL DEFAULT 0;
-- Why the client is internal: who granted it, or this migration.
ALTER TABLE api_clients ADD COLUMN internal_reason TEXT;
-- Clients issued before tenancy existed keep what they could do (read
-- everything): they become internal, marked so that start-up names them
-- and an administrator can move each to its partner.
UPDATE api_clients SET internal = 1, internal_reason = 'migration 0008: issued before partner tenancy';
CREATE INDEX api_clients_partner_idx ON api_clients (partner_id);

ALTER TABLE customers ADD COLUMN partner_id TEXT REFERENCES partners (id);
CREATE INDEX customers_partner_created_idx ON customers (partner_id, created_at);
ALTER TABLE policies ADD COLUMN partner_id TEXT REFERENCES partners (id);
CREATE INDEX policies_partner_created_idx ON policies (partner_id, created_at);
ALTER TABLE claims ADD COLUMN partner_id TEXT REFERENCES partners (id);
CREATE INDEX claims_partner_created_idx ON claims (partner_id, created_at);

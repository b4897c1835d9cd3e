-- Webhook endpoints belong to a partner organisation (issue 13): a
-- partner's endpoint receives events only about that partner's claims.
-- NULL is the insurer's own endpoint, which receives every event.
ALTER TABLE webhook_endpoints ADD COLUMN partner_id TEXT REFERENCES partners (id);
CREATE INDEX webhook_endpoints_partner_idx ON webhook_endpoints (partner_id, active);

-- Claim attachments, signed webhooks, and the correlation id of the request
-- that started a pipeline run (its steps' trace spans carry it).
--
-- Attachment content lives in object storage under `attachments/<sha256>`:
-- the same file uploaded twice is stored once, and a hash shared by two
-- claims is how a reused photo or invoice is spotted.
--
-- A webhook endpoint's signing secret is a random key wrapped with the
-- vault's master key (like a customer's data key), so a database dump does
-- not let anyone forge Vanguard's signatures.

CREATE TABLE claim_attachments (
    id                TEXT    PRIMARY KEY,
    claim_id          TEXT    NOT NULL REFERENCES claims (id),
    sha256            TEXT    NOT NULL,
    kind              TEXT    NOT NULL,
    size_bytes        BIGINT  NOT NULL CHECK (size_bytes > 0),
    filename          TEXT    NOT NULL,
    uploaded_by_kind  TEXT    NOT NULL,
    uploaded_by       TEXT,
    uploaded_by_name  TEXT,
    created_at        BIGINT  NOT NULL
);
-- The same file twice on one claim is one attachment.
CREATE UNIQUE INDEX claim_attachments_claim_hash_key ON claim_attachments (claim_id, sha256);
CREATE INDEX claim_attachments_hash_idx ON claim_attachments (sha256);

CREATE TABLE webhook_endpoints (
    id              TEXT    PRIMARY KEY,
    url             TEXT    NOT NULL,
    description     TEXT    NOT NULL,
    -- Comma-separated event types it receives.
    events          TEXT    NOT NULL,
    kek_id          TEXT    NOT NULL,
    wrapped_secret  BLOB    NOT NULL,
    -- 1 while it receives events; 0 once disabled (kept for its log).
    active          BIGINT  NOT NULL,
    created_by      TEXT,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL
);

-- Every attempt to deliver an event to an endpoint: the delivery log admins
-- read, and what a replay resends.
CREATE TABLE webhook_deliveries (
    id               TEXT    PRIMARY KEY,
    endpoint_id      TEXT    NOT NULL REFERENCES webhook_endpoints (id),
    event            TEXT    NOT NULL,
    -- Stable across retries and replays: receivers deduplicate on it.
    event_id         TEXT    NOT NULL,
    claim_id         TEXT    REFERENCES claims (id),
    payload          TEXT    NOT NULL,
    -- pipeline | replay
    cause            TEXT    NOT NULL,
    outcome          TEXT    NOT NULL CHECK (outcome IN ('delivered', 'failed')),
    response_status  BIGINT,
    error            TEXT,
    duration_ms      BIGINT  NOT NULL,
    created_by       TEXT,
    created_at       BIGINT  NOT NULL
);
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, created_at);
CREATE INDEX webhook_deliveries_event_idx ON webhook_deliveries (event_id, endpoint_id, outcome);
CREATE INDEX webhook_deliveries_created_idx ON webhook_deliveries (created_at);

ALTER TABLE executions ADD COLUMN correlation_id TEXT;

-- Claims, their lines and notes, and the durable workflow that carries each
-- claim from ingestion to a review queue: executions, an outbox of jobs
-- (one row per pipeline step) and stored responses for Idempotency-Key.
--
-- Claimant contact data is PII: envelopes sealed with the policyholder's
-- data key (customer_keys), bound to (claims, column, claim id), so erasing
-- the customer shreds it with the rest of their data.

CREATE TABLE claims (
    id               TEXT    PRIMARY KEY,
    claim_number     TEXT    NOT NULL,
    policy_id        TEXT    NOT NULL REFERENCES policies (id),
    customer_id      TEXT    NOT NULL REFERENCES customers (id),
    status           TEXT    NOT NULL CHECK (status IN ('submitted', 'triaged', 'in_review', 'approved', 'denied', 'info_requested', 'paid', 'closed')),
    -- Set by triage; NULL until the pipeline has looked at the claim.
    priority         TEXT    CHECK (priority IN ('urgent', 'standard', 'low')),
    incident_date    TEXT    NOT NULL,
    description      TEXT    NOT NULL,
    currency         TEXT    NOT NULL,
    total_claimed    BIGINT  NOT NULL CHECK (total_claimed > 0),
    approved_amount  BIGINT,
    paid_amount      BIGINT,
    claimant_name    BYTEA,
    claimant_email   BYTEA,
    claimant_phone   BYTEA,
    -- JSON array of {"code", "reason"} from triage or an adjuster's override.
    fraud_flags      TEXT    NOT NULL,
    -- What the coverage check found ("covered" or why not); NULL until checked.
    coverage         TEXT,
    coverage_note    TEXT,
    assignee_id      TEXT    REFERENCES users (id),
    -- staff | api | legacy
    source           TEXT    NOT NULL,
    triaged_at       BIGINT,
    decided_at       BIGINT,
    version          BIGINT  NOT NULL,
    created_at       BIGINT  NOT NULL,
    updated_at       BIGINT  NOT NULL
);
CREATE UNIQUE INDEX claims_number_key ON claims (claim_number);
CREATE INDEX claims_status_priority_idx ON claims (status, priority, created_at);
CREATE INDEX claims_policy_incident_idx ON claims (policy_id, incident_date);
CREATE INDEX claims_customer_idx ON claims (customer_id);
CREATE INDEX claims_assignee_idx ON claims (assignee_id);
CREATE INDEX claims_created_idx ON claims (created_at);

CREATE TABLE claim_lines (
    claim_id     TEXT    NOT NULL REFERENCES claims (id),
    position     BIGINT  NOT NULL,
    code         TEXT    NOT NULL,
    description  TEXT,
    amount       BIGINT  NOT NULL CHECK (amount > 0),
    PRIMARY KEY (claim_id, position)
);

CREATE TABLE claim_notes (
    id           TEXT    PRIMARY KEY,
    claim_id     TEXT    NOT NULL REFERENCES claims (id),
    author_kind  TEXT    NOT NULL,
    author_id    TEXT,
    author_name  TEXT,
    body         TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL
);
CREATE INDEX claim_notes_claim_idx ON claim_notes (claim_id, created_at);

-- Claims triage found to be possible duplicates of each other (same policy,
-- incident date and an item code in common), one row per direction.
CREATE TABLE claim_links (
    claim_id        TEXT    NOT NULL REFERENCES claims (id),
    other_claim_id  TEXT    NOT NULL REFERENCES claims (id),
    reason          TEXT    NOT NULL,
    created_at      BIGINT  NOT NULL,
    PRIMARY KEY (claim_id, other_claim_id)
);

-- One run of the pipeline over one claim.
CREATE TABLE executions (
    id           TEXT    PRIMARY KEY,
    claim_id     TEXT    NOT NULL REFERENCES claims (id),
    state        TEXT    NOT NULL CHECK (state IN ('running', 'completed', 'failed')),
    created_at   BIGINT  NOT NULL,
    updated_at   BIGINT  NOT NULL,
    finished_at  BIGINT
);
CREATE INDEX executions_claim_idx ON executions (claim_id);

-- The outbox: one job per pipeline step, written in the same transaction as
-- what caused it. Workers lease due jobs (locked_until), so a worker that
-- dies mid-step leaves a job another worker picks up after the lease.
CREATE TABLE jobs (
    id            TEXT    PRIMARY KEY,
    execution_id  TEXT    NOT NULL REFERENCES executions (id),
    claim_id      TEXT    NOT NULL REFERENCES claims (id),
    step          TEXT    NOT NULL,
    state         TEXT    NOT NULL CHECK (state IN ('pending', 'running', 'done', 'dead')),
    attempts      BIGINT  NOT NULL,
    max_attempts  BIGINT  NOT NULL,
    run_at        BIGINT  NOT NULL,
    locked_by     TEXT,
    locked_until  BIGINT,
    last_error    TEXT,
    started_at    BIGINT,
    finished_at   BIGINT,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL
);
-- Enqueuing the same step of the same execution twice is a no-op.
CREATE UNIQUE INDEX jobs_execution_step_key ON jobs (execution_id, step);
CREATE INDEX jobs_due_idx ON jobs (state, run_at);

-- Responses already given for an Idempotency-Key, per caller.
CREATE TABLE idempotency_keys (
    caller        TEXT    NOT NULL,
    idem_key      TEXT    NOT NULL,
    request_hash  TEXT    NOT NULL,
    status        BIGINT  NOT NULL,
    response      TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL,
    PRIMARY KEY (caller, idem_key)
);

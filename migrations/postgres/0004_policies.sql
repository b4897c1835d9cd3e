-- Policies. Money is BIGINT minor units in one currency per policy; dates
-- are TEXT YYYY-MM-DD (they compare correctly as text).
CREATE TABLE policies (
    id              TEXT    PRIMARY KEY,
    policy_number   TEXT    NOT NULL,
    customer_id     TEXT    NOT NULL REFERENCES customers (id),
    line            TEXT    NOT NULL CHECK (line IN ('auto', 'home', 'health', 'life', 'liability', 'marine', 'fleet')),
    status          TEXT    NOT NULL CHECK (status IN ('quote', 'active', 'lapsed', 'cancelled', 'expired')),
    starts_on       TEXT    NOT NULL,
    ends_on         TEXT    NOT NULL,
    currency        TEXT    NOT NULL,
    premium         BIGINT  NOT NULL CHECK (premium > 0),
    coverage_limit  BIGINT  NOT NULL CHECK (coverage_limit > 0),
    deductible      BIGINT  NOT NULL CHECK (deductible >= 0 AND deductible < coverage_limit),
    -- The policy this one renews (the next term is a new policy).
    renewed_from    TEXT    REFERENCES policies (id),
    version         BIGINT  NOT NULL,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL
);
CREATE UNIQUE INDEX policies_number_key ON policies (policy_number);
CREATE UNIQUE INDEX policies_renewed_from_key ON policies (renewed_from);
CREATE INDEX policies_customer_idx ON policies (customer_id);
CREATE INDEX policies_status_ends_idx ON policies (status, ends_on);
CREATE INDEX policies_created_idx ON policies (created_at);

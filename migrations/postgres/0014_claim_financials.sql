-- Claim financials (issue 17): the people and organisations on a claim,
-- an append-only ledger of reserve changes, payments and recoveries, and
-- the authority limits above which a change waits for a supervisor.
-- Outstanding, paid, recovered and incurred are computed from the ledger;
-- claims.paid_amount is dropped, its figures moved into the ledger.
--
-- A party's name, email and phone are sealed with the policyholder's data
-- key (customer_keys), bound to (claim_parties, column, party id), like the
-- claimant's: erasing the customer shreds the claim file's personal data.
CREATE TABLE claim_parties (
    id          TEXT PRIMARY KEY,
    claim_id    TEXT NOT NULL REFERENCES claims (id),
    role        TEXT NOT NULL,
    name        BYTEA NOT NULL,
    email       BYTEA,
    phone       BYTEA,
    created_by  TEXT,
    created_at  BIGINT NOT NULL
);
CREATE INDEX claim_parties_claim_idx ON claim_parties (claim_id, created_at);

-- One row per change; amounts in minor units of the policy's currency.
-- A reserve line is signed (the change to the bucket's reserve); payment
-- and recovery lines are positive. payee_id is NULL only on payments
-- recorded before the ledger (migrated below).
CREATE TABLE claim_ledger (
    id            TEXT PRIMARY KEY,
    claim_id      TEXT NOT NULL REFERENCES claims (id),
    kind          TEXT NOT NULL CHECK (kind IN ('reserve', 'payment', 'recovery')),
    cost_type     TEXT NOT NULL,
    category      TEXT NOT NULL,
    amount        BIGINT NOT NULL,
    currency      TEXT NOT NULL,
    payee_id      TEXT REFERENCES claim_parties (id),
    method        TEXT,
    payment_type  TEXT,
    recovery_type TEXT,
    reference     TEXT,
    reason        TEXT,
    created_by    TEXT,
    created_by_name TEXT,
    created_at    BIGINT NOT NULL,
    -- Set when the line was over its recorder's authority: who approved it.
    approved_by   TEXT,
    approved_by_name TEXT
);
CREATE INDEX claim_ledger_claim_idx ON claim_ledger (claim_id, created_at, id);

CREATE FUNCTION claim_ledger_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'claim_ledger is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER claim_ledger_no_update_delete BEFORE UPDATE OR DELETE ON claim_ledger
    FOR EACH ROW EXECUTE FUNCTION claim_ledger_append_only();
CREATE TRIGGER claim_ledger_no_truncate BEFORE TRUNCATE ON claim_ledger
    FOR EACH STATEMENT EXECUTE FUNCTION claim_ledger_append_only();

-- The one-click payments of before: a reserve of the paid amount and a
-- final payment of it, so the figures read the same from the ledger.
INSERT INTO claim_ledger (id, claim_id, kind, cost_type, category, amount, currency, reason, created_at)
SELECT 'migrated-reserve-' || id, id, 'reserve', 'claim_cost', 'other', paid_amount, currency,
       'Recorded before the ledger', updated_at
FROM claims WHERE paid_amount IS NOT NULL;
INSERT INTO claim_ledger (id, claim_id, kind, cost_type, category, amount, currency, payment_type, reason, created_at)
SELECT 'migrated-payment-' || id, id, 'payment', 'claim_cost', 'other', paid_amount, currency, 'final',
       'Recorded before the ledger', updated_at
FROM claims WHERE paid_amount IS NOT NULL;
ALTER TABLE claims DROP COLUMN paid_amount;

-- How much one member of staff may reserve on a bucket and pay at once,
-- per currency, for a role or (overriding it) one user. NULL: no limit.
-- No row for a currency: no authority in it (administrators excepted).
CREATE TABLE authority_limits (
    subject_kind  TEXT NOT NULL CHECK (subject_kind IN ('role', 'user')),
    subject       TEXT NOT NULL,
    currency      TEXT NOT NULL,
    reserve_limit BIGINT,
    payment_limit BIGINT,
    updated_by    TEXT,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (subject_kind, subject, currency)
);
-- Adjusters: reserves to 50,000 and payments to 25,000 in the major
-- currencies (5,000,000 / 2,500,000 cents), about the same in yen.
INSERT INTO authority_limits (subject_kind, subject, currency, reserve_limit, payment_limit, updated_at)
VALUES ('role', 'adjuster', 'USD', 5000000, 2500000, 0),
       ('role', 'adjuster', 'EUR', 5000000, 2500000, 0),
       ('role', 'adjuster', 'GBP', 5000000, 2500000, 0),
       ('role', 'adjuster', 'CHF', 5000000, 2500000, 0),
       ('role', 'adjuster', 'CAD', 5000000, 2500000, 0),
       ('role', 'adjuster', 'AUD', 5000000, 2500000, 0),
       ('role', 'adjuster', 'JPY', 7000000, 3500000, 0);

-- A reserve change or payment over its requester's authority, waiting for
-- someone else with enough authority. body is the request as submitted
-- (JSON, minor units); it is checked again when approved.
CREATE TABLE ledger_requests (
    id                TEXT PRIMARY KEY,
    claim_id          TEXT NOT NULL REFERENCES claims (id),
    kind              TEXT NOT NULL CHECK (kind IN ('reserve', 'payment')),
    body              TEXT NOT NULL,
    amount            BIGINT NOT NULL,
    currency          TEXT NOT NULL,
    summary           TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    requested_by      TEXT NOT NULL,
    requested_by_name TEXT NOT NULL,
    requested_at      BIGINT NOT NULL,
    decided_by        TEXT,
    decided_by_name   TEXT,
    decided_at        BIGINT,
    decision_reason   TEXT
);
CREATE INDEX ledger_requests_status_idx ON ledger_requests (status, requested_at, id);
CREATE INDEX ledger_requests_claim_idx ON ledger_requests (claim_id, requested_at);

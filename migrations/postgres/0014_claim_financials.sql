-- Claim financials (issue 17): the people and organisations on a claim,
-- and an append-only ledger of reserve changes, payments and recoveries.
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
    created_at    BIGINT NOT NULL
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

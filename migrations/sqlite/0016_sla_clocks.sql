-- SLA clocks (issue 17): acknowledge and decide deadlines per jurisdiction
-- and line of business. A claim's deadlines are fixed when it is filed,
-- from the most specific rule (jurisdiction and line, then jurisdiction,
-- then line, then '*'/'*'); sla_due_at is the one it is working to now
-- (NULL once decided), so the queue reads "soonest breach first" straight
-- from an index.

-- Where the policy is written (ISO 3166: 'GB', 'US-FL'); NULL: the
-- default rules.
ALTER TABLE policies ADD COLUMN jurisdiction TEXT;

ALTER TABLE claims ADD COLUMN acknowledge_due_at BIGINT;
ALTER TABLE claims ADD COLUMN decide_due_at BIGINT;
ALTER TABLE claims ADD COLUMN acknowledged_at BIGINT;
ALTER TABLE claims ADD COLUMN sla_due_at BIGINT;

-- Claims filed before the clocks existed run on the defaults.
UPDATE claims SET
    acknowledge_due_at = created_at + 360 * 3600000000,
    decide_due_at = created_at + 720 * 3600000000,
    acknowledged_at = CASE WHEN status IN ('submitted', 'triaged') THEN NULL ELSE COALESCE(decided_at, updated_at) END,
    sla_due_at = CASE
        WHEN status IN ('submitted', 'triaged') THEN created_at + 360 * 3600000000
        WHEN status IN ('in_review', 'info_requested') THEN created_at + 720 * 3600000000
    END;

CREATE INDEX claims_sla_due_idx ON claims ((COALESCE(sla_due_at, 9223372036854775807)), id);

CREATE TABLE sla_rules (
    -- '*': any.
    jurisdiction      TEXT   NOT NULL,
    line              TEXT   NOT NULL,
    acknowledge_hours BIGINT NOT NULL CHECK (acknowledge_hours > 0),
    decide_hours      BIGINT NOT NULL CHECK (decide_hours >= acknowledge_hours),
    updated_by        TEXT,
    updated_at        BIGINT NOT NULL,
    PRIMARY KEY (jurisdiction, line)
);
-- The defaults the README documents: 15/30 days anywhere (the NAIC model),
-- California's 15/40 days (10 CCR 2695.5, 2695.7) and Florida's 14/90
-- days (Fla. Stat. 627.70131). Compliance owns the table from here.
INSERT INTO sla_rules (jurisdiction, line, acknowledge_hours, decide_hours, updated_at)
VALUES ('*', '*', 360, 720, 0),
       ('US-CA', '*', 360, 960, 0),
       ('US-FL', '*', 336, 2160, 0);

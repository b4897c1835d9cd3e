-- Activities on a claim (issue 17): the diary of work to do, each with an
-- owner, a due date (ISO text, as every date here), a priority and its
-- completion. "My work" reads a user's open ones, soonest due first.
CREATE TABLE claim_activities (
    id              TEXT PRIMARY KEY,
    claim_id        TEXT NOT NULL REFERENCES claims (id),
    subject         TEXT NOT NULL,
    due_on          TEXT NOT NULL,
    priority        TEXT NOT NULL,
    owner_id        TEXT NOT NULL REFERENCES users (id),
    status          TEXT NOT NULL CHECK (status IN ('open', 'done')),
    created_by      TEXT,
    created_at      BIGINT NOT NULL,
    completed_by    TEXT,
    completed_by_name TEXT,
    completed_at    BIGINT
);
CREATE INDEX claim_activities_claim_idx ON claim_activities (claim_id, created_at, id);
CREATE INDEX claim_activities_owner_idx ON claim_activities (owner_id, status, due_on, id);

-- The pipeline keeps up with ingestion (issue 14).
--
-- Leasing reads "the oldest due pending jobs" and "running jobs whose lease
-- ran out" as two separate index range scans: an OR over both states (as
-- before) matched neither index and became a scan plus sort over every due
-- row. Partial indexes hold only the rows of their state, so they stay
-- small however many jobs are done.
CREATE INDEX jobs_pending_due_idx ON jobs (run_at, id) WHERE state = 'pending';
CREATE INDEX jobs_running_lease_idx ON jobs (locked_until) WHERE state = 'running';
-- Retention deletes done jobs by age.
CREATE INDEX jobs_done_finished_idx ON jobs (finished_at) WHERE state = 'done';
-- The old (state, run_at) index goes: without statistics SQLite preferred
-- it to the partial indexes and sorted every pending row again.
DROP INDEX jobs_due_idx;

-- Possible duplicates: the claims on the same policy and incident day, in
-- claim-number order, so triage reads the first few from the index and
-- stops (it looks at a bounded number of candidates).
CREATE INDEX claims_policy_incident_number_idx ON claims (policy_id, incident_date, claim_number);
DROP INDEX claims_policy_incident_idx;

-- Retention deletes stored idempotent responses by age.
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

-- Staff multi-factor authentication (issue 13, item 2).
--
-- One TOTP factor per user. The shared secret is a random key wrapped by
-- the vault's master key like a webhook signing secret (kek_id names the
-- master key, so `server rotate-keys` re-wraps it); it is never stored in
-- the clear. A row with confirmed_at NULL is an enrolment in progress: the
-- factor counts only once a current code confirmed it.
CREATE TABLE user_mfa (
    user_id         TEXT    PRIMARY KEY REFERENCES users (id),
    kek_id          TEXT    NOT NULL,
    wrapped_secret  BYTEA   NOT NULL,
    confirmed_at    BIGINT,
    -- The last 30-second step whose code was accepted: a code is accepted
    -- once, and never one of an earlier step (replay within the window).
    last_used_step  BIGINT  NOT NULL DEFAULT 0,
    created_at      BIGINT  NOT NULL
);

-- Ten one-time recovery codes per enrolled user, stored as SHA-256 of
-- (user id, code): the codes are 80 random bits, so a slow password hash
-- would add nothing but CPU cost (see app/src/auth/ssr/mfa.rs).
CREATE TABLE mfa_recovery_codes (
    id          TEXT    PRIMARY KEY,
    user_id     TEXT    NOT NULL REFERENCES users (id),
    code_hash   TEXT    NOT NULL,
    used_at     BIGINT,
    created_at  BIGINT  NOT NULL
);
CREATE UNIQUE INDEX mfa_recovery_codes_hash_key ON mfa_recovery_codes (user_id, code_hash);

-- Identity, sessions, API clients, throttling and the audit trail.
-- Conventions as in 0001 (ids TEXT, instants BIGINT microseconds UTC, flags
-- BIGINT 0/1 because sqlx's Any driver cannot read booleans on SQLite).

-- Staff accounts. The email is the login name of an employee, not customer
-- PII, so it is stored in the clear (normalised: trimmed, lower-case).
CREATE TABLE users (
    id                  TEXT    PRIMARY KEY,
    email               TEXT    NOT NULL,
    display_name        TEXT    NOT NULL,
    role                TEXT    NOT NULL CHECK (role IN ('admin', 'adjuster', 'underwriter', 'auditor')),
    -- argon2id PHC string (parameters and salt included).
    password_hash       TEXT    NOT NULL,
    active              BIGINT  NOT NULL DEFAULT 1,
    -- Lockout state lives here, not in a replica's memory.
    failed_logins       BIGINT  NOT NULL DEFAULT 0,
    locked_until        BIGINT,
    -- Bumped to end every session of the user at once (password change,
    -- disable, re-role): a session records the epoch it was created in.
    session_epoch       BIGINT  NOT NULL DEFAULT 0,
    last_login_at       BIGINT,
    password_changed_at BIGINT  NOT NULL,
    created_at          BIGINT  NOT NULL,
    updated_at          BIGINT  NOT NULL
);
CREATE UNIQUE INDEX users_email_key ON users (email);

-- tower-sessions records, shared by every replica. The key is the SHA-256 of
-- the session id, so a copy of this table cannot be replayed as cookies.
CREATE TABLE sessions (
    id          TEXT    PRIMARY KEY,
    user_id     TEXT,
    data        TEXT    NOT NULL,
    expires_at  BIGINT  NOT NULL
);
CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_expiry_idx ON sessions (expires_at);

-- Partner systems. The secret is 256 random bits, so SHA-256 (not argon2)
-- is enough to store it and keeps token requests cheap.
CREATE TABLE api_clients (
    id            TEXT    PRIMARY KEY,
    name          TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('api_client', 'admin', 'adjuster', 'underwriter', 'auditor')),
    secret_hash   TEXT    NOT NULL,
    created_by    TEXT,
    created_at    BIGINT  NOT NULL,
    revoked_at    BIGINT,
    last_used_at  BIGINT
);
CREATE UNIQUE INDEX api_clients_name_key ON api_clients (name);

-- Rotating refresh tokens. Each use spends a token and issues its successor
-- in the same family; presenting a spent token revokes the whole family.
CREATE TABLE refresh_tokens (
    id            TEXT    PRIMARY KEY,
    token_hash    TEXT    NOT NULL,
    family_id     TEXT    NOT NULL,
    subject_kind  TEXT    NOT NULL CHECK (subject_kind IN ('user', 'api_client')),
    subject_id    TEXT    NOT NULL,
    issued_at     BIGINT  NOT NULL,
    expires_at    BIGINT  NOT NULL,
    used_at       BIGINT,
    revoked_at    BIGINT
);
CREATE UNIQUE INDEX refresh_tokens_hash_key ON refresh_tokens (token_hash);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);

-- Fixed-window counters for the strict limits (login, token endpoint), kept
-- in the database so every replica counts the same attempts.
CREATE TABLE rate_limits (
    bucket        TEXT    PRIMARY KEY,
    window_start  BIGINT  NOT NULL,
    hits          BIGINT  NOT NULL
);

-- The audit trail: append-only and hash-chained,
--   hash = SHA-256(prev_hash || seq || canonical JSON of the record).
-- `details` holds the before/after (PII redacted) as JSON text, hashed as
-- stored, so verification never depends on re-serialising JSON.
CREATE TABLE audit_log (
    seq             BIGINT  PRIMARY KEY,
    id              TEXT    NOT NULL,
    occurred_at     BIGINT  NOT NULL,
    actor_kind      TEXT    NOT NULL CHECK (actor_kind IN ('user', 'api_client', 'system', 'anonymous')),
    actor_id        TEXT,
    actor_label     TEXT,
    action          TEXT    NOT NULL,
    entity_type     TEXT    NOT NULL,
    entity_id       TEXT,
    details         TEXT    NOT NULL,
    correlation_id  TEXT,
    client_ip       TEXT,
    prev_hash       TEXT    NOT NULL,
    hash            TEXT    NOT NULL
);
CREATE UNIQUE INDEX audit_log_id_key ON audit_log (id);
CREATE INDEX audit_log_entity_idx ON audit_log (entity_type, entity_id, seq);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, seq);

-- The head of the chain, one row. Every writer updates it first, which
-- serialises writers (a row lock on PostgreSQL; SQLite has one writer), so
-- concurrent replicas can never fork the chain.
CREATE TABLE audit_head (
    id    BIGINT  PRIMARY KEY CHECK (id = 1),
    seq   BIGINT  NOT NULL,
    hash  TEXT    NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- The trail cannot be edited or deleted through SQL.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

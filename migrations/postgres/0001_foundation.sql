-- Foundation schema. Conventions (see app/src/db.rs): ids TEXT (UUIDv7) or
-- BIGINT, instants BIGINT microseconds since the Unix epoch (UTC), dates TEXT
-- YYYY-MM-DD, money BIGINT minor units + TEXT currency. The SQLite
-- migration of the same number describes the same schema.

-- Operator-tunable settings that must be the same on every replica (SLA
-- targets, authority limits, ...), so they live in the database rather than
-- in each process's environment. Values are JSON text.
CREATE TABLE app_settings (
    key         TEXT    PRIMARY KEY,
    value       TEXT    NOT NULL,
    updated_at  BIGINT  NOT NULL
);

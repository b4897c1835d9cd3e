-- Customers and the PII vault. Personal data is stored only as envelopes
-- (format byte | nonce | XChaCha20-Poly1305 ciphertext, see app/src/vault)
-- and blind indexes (HMAC-SHA256 of the normalised value, hex).

-- Human-facing numbers (CUS-000001, POL-2026-000001, ...): one row per
-- sequence, advanced by an atomic upsert, never reused.
CREATE TABLE counters (
    name   TEXT    PRIMARY KEY,
    value  BIGINT  NOT NULL
);

-- One data key per customer, wrapped by a master key (kek_id names which).
-- Erasure sets wrapped_key to NULL: every value it encrypted, here and in
-- every backup, becomes unreadable (crypto-shredding).
CREATE TABLE customer_keys (
    customer_id   TEXT    PRIMARY KEY,
    kek_id        TEXT    NOT NULL,
    wrapped_key   BLOB,
    key_version   TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL,
    destroyed_at  BIGINT
);

-- Keys of the vault itself, wrapped by a master key (the blind-index root:
-- random, so rotating the master key re-wraps it but never changes an index).
CREATE TABLE vault_keys (
    purpose      TEXT    PRIMARY KEY,
    kek_id       TEXT    NOT NULL,
    wrapped_key  BLOB   NOT NULL,
    created_at   BIGINT  NOT NULL
);

CREATE TABLE customers (
    id                 TEXT    PRIMARY KEY,
    customer_number    TEXT    NOT NULL,
    first_name         BLOB,
    last_name          BLOB,
    email              BLOB,
    phone              BLOB,
    date_of_birth      BLOB,
    address            BLOB,
    national_id        BLOB,
    email_index        TEXT,
    last_name_index    TEXT,
    national_id_index  TEXT,
    erased_at          BIGINT,
    version            BIGINT  NOT NULL,
    created_at         BIGINT  NOT NULL,
    updated_at         BIGINT  NOT NULL
);
CREATE UNIQUE INDEX customers_number_key ON customers (customer_number);
-- One customer per email address (a duplicate is refused with 409).
CREATE UNIQUE INDEX customers_email_index_key ON customers (email_index);
CREATE INDEX customers_last_name_idx ON customers (last_name_index);
CREATE INDEX customers_national_id_idx ON customers (national_id_index);
CREATE INDEX customers_created_idx ON customers (created_at);

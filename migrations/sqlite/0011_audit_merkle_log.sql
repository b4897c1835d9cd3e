-- The audit trail becomes a Merkle log (issue 16): writers insert records
-- with the engine's own sequence (here the rowid: `seq` becomes INTEGER
-- PRIMARY KEY) and touch no shared row; a sealer later gives each record
-- its `leaf_index` and `leaf_hash` and signs a checkpoint over the tree.
-- `prev_hash` and `hash` are the legacy chain: kept (nullable) for the
-- records written before this migration, never written again. Existing
-- records keep their seq and become leaves, in seq order, at the first seal.
CREATE TABLE audit_log_v2 (
    seq             INTEGER PRIMARY KEY,
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
    prev_hash       TEXT,
    hash            TEXT,
    -- Set once, by the sealer: the position in the log and
    -- SHA-256(0x00 || canonical record), hex.
    leaf_index      BIGINT,
    leaf_hash       TEXT
);
INSERT INTO audit_log_v2 (seq, id, occurred_at, actor_kind, actor_id, actor_label, action,
                          entity_type, entity_id, details, correlation_id, client_ip, prev_hash, hash)
SELECT seq, id, occurred_at, actor_kind, actor_id, actor_label, action,
       entity_type, entity_id, details, correlation_id, client_ip, prev_hash, hash
FROM audit_log;
DROP TABLE audit_log;
ALTER TABLE audit_log_v2 RENAME TO audit_log;
CREATE UNIQUE INDEX audit_log_id_key ON audit_log (id);
CREATE INDEX audit_log_entity_idx ON audit_log (entity_type, entity_id, seq);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, seq);
CREATE UNIQUE INDEX audit_log_leaf_key ON audit_log (leaf_index) WHERE leaf_index IS NOT NULL;
CREATE INDEX audit_log_unsealed_idx ON audit_log (seq) WHERE leaf_index IS NULL;

-- No writer serialises on a head row any more.
DROP TABLE audit_head;

-- Records cannot be edited or deleted through SQL; the sealer may set a
-- record's leaf once.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OF seq, id, occurred_at, actor_kind, actor_id,
    actor_label, action, entity_type, entity_id, details, correlation_id, client_ip, prev_hash, hash
    ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_seal_once BEFORE UPDATE OF leaf_index, leaf_hash ON audit_log
    WHEN OLD.leaf_index IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only (a sealed leaf cannot change)');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

-- Signed tree heads, one per seal. `frontier` holds the roots of the
-- tree's perfect subtrees (hex, comma-separated), so the next seal extends
-- the tree without reading old leaves. `signature` is base64 Ed25519 over
-- the note documented in the README ("Audit trail"). `exported` is 1 once
-- the note and signature are in object storage.
CREATE TABLE audit_checkpoints (
    tree_size   BIGINT  PRIMARY KEY,
    root_hash   TEXT    NOT NULL,
    frontier    TEXT    NOT NULL,
    origin      TEXT    NOT NULL,
    sealed_at   BIGINT  NOT NULL,
    key_id      TEXT    NOT NULL,
    signature   TEXT    NOT NULL,
    exported    BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX audit_checkpoints_unexported_idx ON audit_checkpoints (tree_size) WHERE exported = 0;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN
    SELECT RAISE(ABORT, 'audit_checkpoints is append-only');
END;
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE OF tree_size, root_hash, frontier,
    origin, sealed_at, key_id, signature ON audit_checkpoints
BEGIN
    SELECT RAISE(ABORT, 'audit_checkpoints is append-only');
END;

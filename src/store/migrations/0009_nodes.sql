-- 0009: nodes. Every running pantau process (a node) keeps a row: its name (`--node`), when it
-- started, its last heartbeat and the hash of the config text it runs. On SQLite one node runs
-- at a time (the instance lock); rows of earlier runs stay until they are a week old.
CREATE TABLE nodes (
    name         TEXT PRIMARY KEY,
    started_at   INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL,
    config_hash  TEXT NOT NULL
);

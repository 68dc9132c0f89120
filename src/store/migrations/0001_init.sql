-- 0001: feeds, items (dedup by UNIQUE(feed_id, item_key)) and the alert outbox.

CREATE TABLE feeds (
    id                   INTEGER PRIMARY KEY,
    name                 TEXT NOT NULL UNIQUE,
    url                  TEXT NOT NULL,
    created_at           INTEGER NOT NULL,
    -- Set by the first successful poll; NULL means "never polled" (first_poll applies).
    first_success_at     INTEGER,
    last_attempt_at      INTEGER,
    last_success_at      INTEGER,
    last_status          TEXT,
    last_error           TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    etag                 TEXT,
    last_modified        TEXT,
    items_seen           INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE items (
    id            INTEGER PRIMARY KEY,
    feed_id       INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
    item_key      TEXT NOT NULL,
    title         TEXT NOT NULL,
    link          TEXT,
    published     INTEGER,
    updated       INTEGER,
    authors       TEXT NOT NULL,   -- JSON array
    categories    TEXT NOT NULL,   -- JSON array
    summary       TEXT NOT NULL,
    content       TEXT NOT NULL,
    first_seen_at INTEGER NOT NULL,
    UNIQUE (feed_id, item_key)
);

CREATE TABLE alerts (
    id              TEXT PRIMARY KEY,          -- stable: hash of feed, item key, rule, sink
    item_id         INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    rule            TEXT NOT NULL,
    sink            TEXT NOT NULL,
    matched         TEXT NOT NULL,             -- JSON array of the terms that hit
    payload         TEXT NOT NULL,             -- CONTRACT section 4 body, rendered once
    state           TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    delivered_at    INTEGER
);

CREATE INDEX alerts_due ON alerts (sink, state, next_attempt_at);

-- 0005: operator alerts without an item (feed health), pruned bodies, and the health flag.
-- SQLite cannot relax a NOT NULL constraint in place, so the alerts table is rebuilt.

CREATE TABLE alerts_new (
    id              TEXT PRIMARY KEY,
    item_id         INTEGER REFERENCES items(id) ON DELETE CASCADE,   -- NULL for operator alerts
    rule            TEXT NOT NULL,
    sink            TEXT NOT NULL,
    matched         TEXT NOT NULL,
    payload         TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    delivered_at    INTEGER,
    story_key       TEXT,
    feed_id         INTEGER REFERENCES feeds(id) ON DELETE CASCADE
);
INSERT INTO alerts_new (id, item_id, rule, sink, matched, payload, state, attempts, next_attempt_at, last_error,
                        created_at, delivered_at, story_key, feed_id)
    SELECT a.id, a.item_id, a.rule, a.sink, a.matched, a.payload, a.state, a.attempts, a.next_attempt_at, a.last_error,
           a.created_at, a.delivered_at, a.story_key, i.feed_id
    FROM alerts a LEFT JOIN items i ON i.id = a.item_id;
DROP TABLE alerts;
ALTER TABLE alerts_new RENAME TO alerts;
CREATE INDEX alerts_due ON alerts (sink, state, next_attempt_at);
CREATE UNIQUE INDEX alerts_story ON alerts (story_key, rule, sink) WHERE story_key IS NOT NULL;
CREATE INDEX alerts_created ON alerts (created_at);

ALTER TABLE items ADD COLUMN pruned INTEGER NOT NULL DEFAULT 0;
ALTER TABLE feeds ADD COLUMN health_alerted_at INTEGER;

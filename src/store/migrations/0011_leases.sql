-- 0011: leases. A node claims a due feed before polling it (lease_node, lease_until) and a
-- sink before draining its outbox (sink_leases), so that on a shared database (PostgreSQL) no
-- feed is polled by two nodes at once and each sink is drained by one node at a time. On SQLite
-- one node runs (the instance lock) and always gets them; host_slots holds `per_host` across
-- the nodes (slot 0..per_host-1 of a host, each leased by one poll); the columns are here so that both
-- backends run the same code and `pantau migrate` has them to copy.
ALTER TABLE feeds ADD COLUMN lease_node TEXT;
ALTER TABLE feeds ADD COLUMN lease_until INTEGER;
CREATE TABLE sink_leases (
    sink        TEXT PRIMARY KEY,
    node        TEXT NOT NULL,
    lease_until INTEGER NOT NULL
);
CREATE TABLE host_slots (
    host        TEXT NOT NULL,
    slot        INTEGER NOT NULL,
    node        TEXT NOT NULL,
    lease_until INTEGER NOT NULL,
    PRIMARY KEY (host, slot)
);

-- Operator alert about a feed that publishes nothing for much longer than its rhythm.
ALTER TABLE feeds ADD COLUMN quiet_alerted_at INTEGER;
-- The feed's own minimum polling interval (<ttl>, sy:updatePeriod), in seconds, from its last document.
ALTER TABLE feeds ADD COLUMN ttl_secs INTEGER;

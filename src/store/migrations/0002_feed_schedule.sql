-- 0002: the persisted next poll time, so that a restart neither polls everything at once nor
-- skips a due poll, and the URL a permanent redirect moved a feed to.

ALTER TABLE feeds ADD COLUMN next_poll_at INTEGER;
ALTER TABLE feeds ADD COLUMN moved_to TEXT;
CREATE INDEX items_first_seen ON items (first_seen_at);

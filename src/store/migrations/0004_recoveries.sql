-- 0004: what the last successful poll had to repair to read the feed (empty when nothing).

ALTER TABLE feeds ADD COLUMN last_recoveries TEXT;

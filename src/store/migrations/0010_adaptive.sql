-- 0010: an adaptive feed's current interval (`interval = "auto"`), so that a restart or the next
-- `pantau once` goes on from the rhythm learned so far instead of the middle of the range.
ALTER TABLE feeds ADD COLUMN adaptive_ms INTEGER;

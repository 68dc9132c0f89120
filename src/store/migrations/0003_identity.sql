-- 0003: item identity beyond the key: normalised link, story key (cross-feed dedup) and
-- content hash (edits), and one alert per story, rule and sink whichever feed carried it.

ALTER TABLE items ADD COLUMN link_norm TEXT;
ALTER TABLE items ADD COLUMN story_key TEXT;
ALTER TABLE items ADD COLUMN content_hash TEXT;
ALTER TABLE items ADD COLUMN edited_at INTEGER;
CREATE INDEX items_link ON items (feed_id, link_norm);

ALTER TABLE alerts ADD COLUMN story_key TEXT;
CREATE UNIQUE INDEX alerts_story ON alerts (story_key, rule, sink) WHERE story_key IS NOT NULL;

-- 0008: stories. An item's MinHash signature (src/stories.rs) and the story it belongs to
-- (the row id of the story's first item; NULL: its own). The LSH band index finds the items
-- that may be reprints of a new one: one row per band of a signature, looked up by band hash.
ALTER TABLE items ADD COLUMN signature BLOB;
ALTER TABLE items ADD COLUMN story_id INTEGER;
-- New rows go to the small story_bands_new first (its pages stay in the cache) and are moved
-- into story_bands in band order every 2,000 items, so that a commit does not dirty one page
-- of the big index per row.
CREATE TABLE story_bands_new (
    band    INTEGER NOT NULL,
    item_id INTEGER NOT NULL,
    PRIMARY KEY (band, item_id)
) WITHOUT ROWID;
CREATE TABLE story_bands (
    band    INTEGER NOT NULL,
    item_id INTEGER NOT NULL,
    PRIMARY KEY (band, item_id)
) WITHOUT ROWID;
CREATE INDEX items_story ON items (story_id) WHERE story_id IS NOT NULL;

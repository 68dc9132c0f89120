-- Whole articles (fetch_article): the text extracted from an item's page, and the state of
-- fetching it. article_state is NULL for items whose page is not wanted, 'pending' while it is
-- to be fetched (article_next_at says when), 'fetched' or 'failed' (after the last retry).
ALTER TABLE items ADD COLUMN article TEXT;
ALTER TABLE items ADD COLUMN article_state TEXT;
ALTER TABLE items ADD COLUMN article_error TEXT;
ALTER TABLE items ADD COLUMN article_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE items ADD COLUMN article_next_at INTEGER;
ALTER TABLE items ADD COLUMN article_pages INTEGER;
CREATE INDEX items_article_due ON items(article_next_at) WHERE article_state = 'pending';

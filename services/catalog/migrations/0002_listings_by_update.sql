-- The public view cache of every replica polls the listings changed since its last poll
-- (listing_id, updated_at WHERE updated_at >= ?): this index answers it without the rows.
CREATE INDEX IF NOT EXISTS listings_by_update ON listings (updated_at, listing_id);

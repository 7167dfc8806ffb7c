-- Listing content as columns instead of the serialized API message in `content`.
-- The columns hold a listing when fields_at equals its updated_at: every write of this release
-- sets both, while a replica of the previous release (during a rolling update) still writes
-- only `content`, and its rows are read from there. Code step 0004_fill_listing_columns fills
-- the columns of the rows written before. `content` is still written, for those replicas, and
-- is dropped by a later release once every row has its columns.
-- image_urls: newline-separated (URLs hold no whitespace). attributes: a JSON object.
-- findings: a JSON array of {rule, verdict, reason_code, explanation}.
-- price_currency / price_minor: both NULL when the listing has no price.
ALTER TABLE listings
  ADD COLUMN IF NOT EXISTS title VARCHAR(1000) NOT NULL DEFAULT '',
  ADD COLUMN IF NOT EXISTS description TEXT NOT NULL DEFAULT '',
  ADD COLUMN IF NOT EXISTS brand VARCHAR(400) NOT NULL DEFAULT '',
  ADD COLUMN IF NOT EXISTS item_condition VARCHAR(16) CHARACTER SET ascii NOT NULL DEFAULT '',
  ADD COLUMN IF NOT EXISTS price_currency CHAR(3) CHARACTER SET ascii NULL,
  ADD COLUMN IF NOT EXISTS price_minor BIGINT NULL,
  ADD COLUMN IF NOT EXISTS quantity BIGINT NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS image_urls TEXT NOT NULL DEFAULT '',
  ADD COLUMN IF NOT EXISTS attributes TEXT NOT NULL DEFAULT '',
  ADD COLUMN IF NOT EXISTS findings TEXT NOT NULL DEFAULT '',
  ADD COLUMN IF NOT EXISTS fields_at DATETIME(6) NULL;

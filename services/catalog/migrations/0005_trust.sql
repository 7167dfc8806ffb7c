-- Ids the platform issues are compared exactly (common::ValidateIssuedId gives them one
-- spelling): their columns use a binary collation, so 'LST_...' never finds 'lst_...'.
-- Indexes on these columns are rebuilt by the ALTERs.
ALTER TABLE listings
  MODIFY listing_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  MODIFY seller_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL;
ALTER TABLE listing_transitions
  MODIFY listing_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  MODIFY actor VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL;
ALTER TABLE review_queue
  MODIFY listing_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  MODIFY seller_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  MODIFY claimed_by VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL;
ALTER TABLE reports
  MODIFY listing_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  MODIFY reporter_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL;
ALTER TABLE appeals
  MODIFY listing_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  MODIFY seller_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL;
ALTER TABLE seller_moderation
  MODIFY seller_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  MODIFY updated_by VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL;

-- Sellers suspended in the catalog (SuspendSellerListings, or identity's
-- identity.account_suspended through Enforcement::SuspendSeller): while a row is here the
-- seller has nothing LIVE and can create, update, submit and appeal nothing
-- (SELLER_SUSPENDED). Deleted by the reinstatement. The flows that act for a seller read it
-- with a shared lock in their transaction; the suspension writes it before it locks the
-- seller's listings, so one of the two waits for the other.
CREATE TABLE IF NOT EXISTS seller_suspensions (
  seller_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  reason_code VARCHAR(64) CHARACTER SET ascii NOT NULL,
  explanation TEXT NOT NULL,
  suspended_by VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  suspended_at DATETIME(6) NOT NULL,
  PRIMARY KEY (seller_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Reports: every report is kept; `counts` says whether it counts toward the report threshold
-- (an established reporter, no burst), `held` why not: NEW_ACCOUNT (the reporter's account is
-- younger than --report_min_account_age and has no paid order) or BURST (too many reports on
-- the seller's listings in --report_burst_window), for moderators to look at. seller_id: the
-- reported listing's seller (bursts are counted per seller). Rows written before this
-- migration counted.
ALTER TABLE reports
  ADD COLUMN IF NOT EXISTS seller_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL
    DEFAULT '',
  ADD COLUMN IF NOT EXISTS counts BOOL NOT NULL DEFAULT TRUE,
  ADD COLUMN IF NOT EXISTS held VARCHAR(16) CHARACTER SET ascii NOT NULL DEFAULT '';
UPDATE reports r JOIN listings l ON l.listing_id = r.listing_id SET r.seller_id = l.seller_id
  WHERE r.seller_id = '';
CREATE INDEX IF NOT EXISTS reports_by_reporter ON reports (reporter_id, created_at);
CREATE INDEX IF NOT EXISTS reports_by_seller ON reports (seller_id, created_at);

-- Title search: the words of every listing's folded title (title_folded: lower case, accents
-- removed, words of letters and digits separated by single spaces), one row per (word, listing).
-- A text query walks the listings having its first word newest first (the primary key) and
-- probes the others. Written by this release with every write of a listing (InsertListing,
-- SaveListing); the statement below fills it for the rows written before. Words longer than
-- 100 characters are not stored (such query words are checked with LIKE).
CREATE TABLE IF NOT EXISTS listing_words (
  word VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  seq BIGINT NOT NULL,
  PRIMARY KEY (word, seq),
  KEY listing_words_by_seq (seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
-- The k-th word of each title, for k up to its number of words (titles have at most 200
-- characters, so at most 100 words); seq_1_to_100 is MariaDB's sequence engine.
INSERT IGNORE INTO listing_words (word, seq)
  SELECT SUBSTRING_INDEX(SUBSTRING_INDEX(TRIM(l.title_folded), ' ', n.seq), ' ', -1), l.seq
  FROM listings l JOIN seq_1_to_100 n
    ON n.seq <= CHAR_LENGTH(TRIM(l.title_folded)) - CHAR_LENGTH(REPLACE(TRIM(l.title_folded), ' ', '')) + 1
  WHERE TRIM(l.title_folded) <> ''
    AND CHAR_LENGTH(SUBSTRING_INDEX(SUBSTRING_INDEX(TRIM(l.title_folded), ' ', n.seq), ' ', -1)) <= 100;

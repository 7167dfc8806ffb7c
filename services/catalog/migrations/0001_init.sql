-- catalog: listings, their recorded transitions, the human review queue with claims, buyer
-- reports, appeals and per-seller moderation settings. Times are UTC (DATETIME(6)).
-- Every statement can run again (IF NOT EXISTS): MariaDB commits DDL one statement at a time.

-- One row per listing. `seq` gives the stable listing order (newest first = seq DESC);
-- `listing_id` is the public id. The listing's content (title, description, brand,
-- condition, price, quantity, image URLs, attributes, the rules' findings) is the serialized
-- marketplace.catalog.v1.Listing in `content`; the columns the API filters on are copied out.
-- state_before_suspension is set only while SUSPENDED (the state RestoreSellerListings
-- returns to). ever_decided: the rules or a moderator approved or rejected it at least once
-- (the new-seller policy counts these).
CREATE TABLE IF NOT EXISTS listings (
  seq BIGINT NOT NULL AUTO_INCREMENT,
  listing_id VARCHAR(64) CHARACTER SET ascii NOT NULL,
  seller_id VARCHAR(64) CHARACTER SET ascii NOT NULL,
  state VARCHAR(16) CHARACTER SET ascii NOT NULL,
  category_id VARCHAR(64) CHARACTER SET ascii NOT NULL,
  title_folded VARCHAR(1000) NOT NULL,
  content MEDIUMBLOB NOT NULL,
  reason_codes VARCHAR(1000) CHARACTER SET ascii NOT NULL DEFAULT '',
  explanation TEXT NOT NULL,
  rules_version VARCHAR(255) NOT NULL DEFAULT '',
  state_before_suspension VARCHAR(16) CHARACTER SET ascii NULL,
  ever_decided BOOL NOT NULL DEFAULT FALSE,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  PRIMARY KEY (seq),
  UNIQUE KEY listings_by_id (listing_id),
  KEY listings_by_state (state, seq),
  KEY listings_by_seller (seller_id, state, seq),
  KEY listings_by_category (category_id, state, seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Every state change: who (account id, or "system"), when, from, to, reason codes
-- (comma-separated), explanation and the rules version of automatic decisions. from_state is
-- '' for the creation. Rows are never updated.
CREATE TABLE IF NOT EXISTS listing_transitions (
  id BIGINT NOT NULL AUTO_INCREMENT,
  listing_id VARCHAR(64) CHARACTER SET ascii NOT NULL,
  actor VARCHAR(64) CHARACTER SET ascii NOT NULL,
  at DATETIME(6) NOT NULL,
  from_state VARCHAR(16) CHARACTER SET ascii NOT NULL,
  to_state VARCHAR(16) CHARACTER SET ascii NOT NULL,
  reason_codes VARCHAR(1000) CHARACTER SET ascii NOT NULL DEFAULT '',
  explanation TEXT NOT NULL,
  rules_version VARCHAR(255) NOT NULL DEFAULT '',
  PRIMARY KEY (id),
  KEY transitions_by_listing (listing_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Listings waiting for a human, one row per listing in PENDING_REVIEW (kept, but not listed,
-- while the listing is SUSPENDED). A claim is (claimed_by, claim_expires_at); a claim whose
-- expiry has passed is free to take. Claims are taken with one conditional UPDATE, so two
-- moderators can never both succeed.
CREATE TABLE IF NOT EXISTS review_queue (
  listing_id VARCHAR(64) CHARACTER SET ascii NOT NULL,
  seller_id VARCHAR(64) CHARACTER SET ascii NOT NULL,
  reason VARCHAR(16) CHARACTER SET ascii NOT NULL,
  enqueued_at DATETIME(6) NOT NULL,
  claimed_by VARCHAR(64) CHARACTER SET ascii NULL,
  claim_expires_at DATETIME(6) NULL,
  appeal_statement TEXT NOT NULL,
  PRIMARY KEY (listing_id),
  KEY queue_by_age (enqueued_at, listing_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Buyer reports: one per buyer and listing. is_open until a moderator decides the listing.
CREATE TABLE IF NOT EXISTS reports (
  id BIGINT NOT NULL AUTO_INCREMENT,
  listing_id VARCHAR(64) CHARACTER SET ascii NOT NULL,
  reporter_id VARCHAR(64) CHARACTER SET ascii NOT NULL,
  reason VARCHAR(32) CHARACTER SET ascii NOT NULL,
  comment TEXT NOT NULL,
  is_open BOOL NOT NULL DEFAULT TRUE,
  created_at DATETIME(6) NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY reports_one_per_buyer (listing_id, reporter_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Appeals: one per rejection decision (the listing_transitions row that rejected).
CREATE TABLE IF NOT EXISTS appeals (
  decision_id BIGINT NOT NULL,
  listing_id VARCHAR(64) CHARACTER SET ascii NOT NULL,
  seller_id VARCHAR(64) CHARACTER SET ascii NOT NULL,
  statement TEXT NOT NULL,
  created_at DATETIME(6) NOT NULL,
  PRIMARY KEY (decision_id),
  KEY appeals_by_listing (listing_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Staff-set moderation level per seller (STANDARD when absent) and the brands it may sell
-- (newline-separated names as given).
CREATE TABLE IF NOT EXISTS seller_moderation (
  seller_id VARCHAR(64) CHARACTER SET ascii NOT NULL,
  level VARCHAR(16) CHARACTER SET ascii NOT NULL,
  authorized_brands TEXT NOT NULL,
  updated_by VARCHAR(64) CHARACTER SET ascii NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  PRIMARY KEY (seller_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

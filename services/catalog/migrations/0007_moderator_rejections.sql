-- Listings a moderator rejected and nobody approved since, one row per listing: the duplicate
-- rule compares a seller's new submissions with its most recently rejected ones
-- (COPY_OF_REJECTED_LISTING: a copy of a rejected listing goes to a moderator, never straight
-- LIVE). DecideReview writes the row with a rejection (decision_id: its listing_transitions
-- row; a later rejection replaces it) and deletes it with an approval. Read newest decision
-- first by moderator_rejections_by_seller, at most a fixed number of rows.
CREATE TABLE IF NOT EXISTS moderator_rejections (
  listing_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  seller_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  decision_id BIGINT NOT NULL,
  PRIMARY KEY (listing_id),
  KEY moderator_rejections_by_seller (seller_id, decision_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The listings rejected before this release: the latest rejection by someone other than the
-- rules (restores after a suspension aside, whose actor is the enforcer) with no approval
-- after it (restores to LIVE aside).
INSERT IGNORE INTO moderator_rejections (listing_id, seller_id, decision_id)
SELECT t.listing_id, l.seller_id, MAX(t.id)
FROM listing_transitions t
JOIN listings l ON l.listing_id = t.listing_id
WHERE t.to_state = 'REJECTED' AND t.from_state <> 'SUSPENDED' AND t.actor <> 'system'
  AND NOT EXISTS (
    SELECT 1 FROM listing_transitions a
    WHERE a.listing_id = t.listing_id AND a.id > t.id AND a.to_state = 'LIVE'
      AND a.from_state <> 'SUSPENDED')
GROUP BY t.listing_id, l.seller_id;

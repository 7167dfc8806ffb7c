-- The content a moderator rejected, kept with the rejection: the duplicate rule compares new
-- submissions with it, not with the rejected listing as it is now (a REJECTED listing can be
-- edited freely, so comparing with its current text let a seller edit it away and submit a
-- copy of the rejected text as a new listing). Rows written before this migration take the
-- listing's content as it is when the migration runs.
ALTER TABLE moderator_rejections
  ADD COLUMN IF NOT EXISTS title VARCHAR(1000) NOT NULL DEFAULT '',
  ADD COLUMN IF NOT EXISTS description TEXT NOT NULL DEFAULT '';
UPDATE moderator_rejections r
JOIN listings l ON l.listing_id = r.listing_id
SET r.title = l.title, r.description = l.description
WHERE r.title = '' AND r.description = '';

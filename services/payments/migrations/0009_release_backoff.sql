-- The automatic release skips a payment whose release failed, with exponential backoff, so one
-- bad payment no longer stops the pass for all the others (on every replica): failed attempts
-- so far, and the earliest time of the next one (NULL: due with its release_due_at).
ALTER TABLE payments
  ADD COLUMN IF NOT EXISTS release_failures INT NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS release_retry_at DATETIME(6) NULL COMMENT 'UTC';

-- When a SOLVED ticket closes: solved_at + the SLA policy's close_after in force when it was
-- solved (the buyer may reopen until then). Tickets solved before the column close 4 days after
-- SOLVED, the default close_after.
ALTER TABLE tickets
  ADD COLUMN IF NOT EXISTS closes_at DATETIME(6) NULL,
  ADD KEY IF NOT EXISTS tickets_closing (status, closes_at);
UPDATE tickets SET closes_at = solved_at + INTERVAL 4 DAY
  WHERE solved_at IS NOT NULL AND closes_at IS NULL;

-- support: when each ticket row last changed, stamped by the database itself on every insert
-- and on every update that changes the row (whichever replica, whichever version of support
-- wrote it; UTC: every session's time_zone is +00:00). Replicas poll it to keep their cache of
-- ticket rows coherent (README "Reads": SELECT ticket_id, changed_at FROM tickets WHERE
-- changed_at >= ?).
ALTER TABLE tickets
  ADD COLUMN IF NOT EXISTS changed_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
    ON UPDATE CURRENT_TIMESTAMP(6) COMMENT 'UTC, the database clock',
  ADD KEY IF NOT EXISTS tickets_changed (changed_at);

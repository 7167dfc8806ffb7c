-- sellerkpi: an appeal decided REINSTATE cancels the unfinished steps of the action it reverses
-- (and, for a SUSPENSION, of the measures and warning it closes), so that none of them takes
-- effect after the restoration. claimed_until: while a worker runs the step, the end of its
-- lease, else NULL; a restoration waits while a cancelled step of the seller is still being run
-- (its effect may still land, and the restoration must come after it).
ALTER TABLE enforcement_steps
  ADD COLUMN IF NOT EXISTS claimed_until DATETIME(6) NULL
    COMMENT 'UTC; the lease of the worker running the step; NULL when none runs it',
  MODIFY COLUMN state VARCHAR(16) CHARACTER SET ascii NOT NULL
    COMMENT 'PENDING, RETRYING, DONE_CHECKED, CANCELLED';

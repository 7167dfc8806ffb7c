-- sellerkpi: actions created by evaluations (README "Enforcement"). An AT_RISK_MEASURES,
-- CRITICAL_WARNING or SUSPENSION action is open (in force: at most one of a type per seller)
-- while it is not REVERSED and closed_at is NULL. A warning closes when the seller is no longer
-- CRITICAL or when it led to a suspension; a REINSTATE of a suspension closes the seller's
-- open measures and warning (its restoration undoes them).
ALTER TABLE enforcement_actions
  ADD COLUMN IF NOT EXISTS closed_at DATETIME(6) NULL COMMENT 'UTC; NULL: open unless REVERSED';

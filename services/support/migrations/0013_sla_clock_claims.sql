-- The SLA scanner claims the due clocks it is about to act on (ClaimDueClocks, FOR UPDATE SKIP
-- LOCKED), so that replicas take disjoint batches: scan_lease_until keeps a claimed clock out
-- of the other passes until then (a pass that dies leaves it to them when it ends); NULL: not
-- claimed. Every change of the clock (SaveClock) clears it.
ALTER TABLE sla_clocks
  ADD COLUMN IF NOT EXISTS scan_lease_until DATETIME(6) NULL COMMENT 'UTC; NULL: not claimed';

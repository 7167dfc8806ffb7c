-- sellerkpi: the hold period per standing (README "Enforcement", "Hold per standing").
-- hold_seconds: the hold an AT_RISK_MEASURES or TOP_SELLER_TERMS sets at payments, or the
-- least hold a RESTORATION puts back (the GOOD one), decided with the action (the thresholds
-- in force then); NULL for other actions and for actions created before the column (measures:
-- 21 days; restorations: the replaced hold as it was).
-- seq: the order actions were created in. A seller's payments.* steps run in that order (a
-- hold step waits while an older action of the seller has one unfinished), so the holds land
-- in the order they were decided. Rows created before the column are numbered in key order.
ALTER TABLE enforcement_actions
  ADD COLUMN IF NOT EXISTS hold_seconds BIGINT NULL
    COMMENT 'hold set (measures, TOP terms) or least hold restored (restoration); NULL: none',
  ADD COLUMN IF NOT EXISTS seq BIGINT NOT NULL AUTO_INCREMENT UNIQUE
    COMMENT 'creation order';
CREATE INDEX IF NOT EXISTS enforcement_actions_seller_seq
  ON enforcement_actions (seller_id, seq);

-- Who paid each refund, and its later charge to the seller (ChargeSellerForRefund).
-- processor_operations (REFUND rows of RefundPayment): the funding applied (SELLER_BALANCE or
-- GUARANTEE_FUND; '' for dispute refunds and rows from before), the seller's money and the
-- guarantee fund's money that paid it, whether a SERVICE made it on the seller's behalf; and,
-- once charged, what moved onto the seller, the shortfall its balance could not carry, who
-- and when (charged_at NULL: not charged; set once, by a conditional UPDATE).
ALTER TABLE processor_operations
  ADD COLUMN IF NOT EXISTS funded_by VARCHAR(16) CHARACTER SET ascii NOT NULL DEFAULT '',
  ADD COLUMN IF NOT EXISTS paid_by_seller_minor BIGINT NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS paid_by_guarantee_minor BIGINT NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS on_behalf_of_seller BOOLEAN NOT NULL DEFAULT FALSE,
  ADD COLUMN IF NOT EXISTS charged_minor BIGINT NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS charge_shortfall_minor BIGINT NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS charged_by VARCHAR(128) NOT NULL DEFAULT '',
  ADD COLUMN IF NOT EXISTS charged_at DATETIME(6) NULL COMMENT 'UTC';

-- The refund a ledger transaction pays (refund) or charges (refund_charge); NULL otherwise.
ALTER TABLE ledger_transactions
  ADD COLUMN IF NOT EXISTS refund_id VARCHAR(64) CHARACTER SET ascii NULL;

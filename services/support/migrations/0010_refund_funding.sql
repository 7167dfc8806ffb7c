-- Who pays a refund command (RefundFunding in ticket_records.h: 1 on behalf of the seller,
-- 2 seller balance, 3 guarantee fund; 0 for commands recorded before) and, once payments
-- refused it, the refusal's ErrorInfo reason (e.g. REFUND_EXCEEDS_SELLER_BALANCE).
ALTER TABLE refund_commands
  ADD COLUMN IF NOT EXISTS funding TINYINT NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS result_reason VARCHAR(64) CHARACTER SET ascii NOT NULL DEFAULT '';

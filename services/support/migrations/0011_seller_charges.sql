-- Guarantee-funded refunds moved onto the seller (payments ChargeSellerForRefund) once an
-- agent finds the seller at fault. Per refund command:
--   payments_refund_id  payments' Payment.refunds[].refund_id of the refund made (recorded
--                       with REFUNDED; empty for commands refunded before this column)
--   charge_state        0 none, 1 to charge, 2 charged, 3 not charged (final)
--   charge_attempt      bumped after each INSUFFICIENT_AVAILABLE_BALANCE answer: the next
--                       call uses a new request id "<request_id>:charge:<charge_attempt>"
--   charge_calls        calls that got no final answer (the backoff doubles per call)
--   charge_next_at      when the worker may call payments next (a lease while a call runs)
--   charge_reason       not charged: payments' ErrorInfo reason (or REFUND_REFUSED)
--   charged_minor, charge_shortfall_minor  what moved onto the seller, what stayed with the fund
--   charge_decided_by   the agent who found the seller at fault
-- A finding reads (and locks) the ticket's commands by ticket_id: its own index.
ALTER TABLE refund_commands
  ADD COLUMN IF NOT EXISTS payments_refund_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin
    NOT NULL DEFAULT '',
  ADD COLUMN IF NOT EXISTS charge_state TINYINT NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS charge_attempt INT NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS charge_calls INT NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS charge_next_at DATETIME(6) NULL,
  ADD COLUMN IF NOT EXISTS charge_reason VARCHAR(64) CHARACTER SET ascii NOT NULL DEFAULT '',
  ADD COLUMN IF NOT EXISTS charged_minor BIGINT NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS charge_shortfall_minor BIGINT NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS charge_decided_by VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin
    NOT NULL DEFAULT '',
  ADD KEY IF NOT EXISTS refund_commands_charge_due (charge_state, charge_next_at),
  ADD KEY IF NOT EXISTS refund_commands_by_ticket (ticket_id);

-- Money the ledger has already moved out (a refund to the buyer, a payout to the seller) and
-- that the processor still has to send. Written in the same database transaction as the
-- ledger transaction; the API call tries it at once, the completion worker of any replica
-- retries it until the processor answers for good.
--   state PENDING: not yet confirmed by the processor; DONE: confirmed (processor_reference);
--   FAILED: refused for good, its compensation posted in the same transaction as the change.
-- operation_id is the processor idempotency key: every attempt sends the same key, so the
-- money moves once whatever the number of attempts or replicas.
CREATE TABLE IF NOT EXISTS processor_operations (
  operation_id VARCHAR(64) CHARACTER SET ascii NOT NULL,
  kind VARCHAR(16) CHARACTER SET ascii NOT NULL COMMENT 'REFUND, PAYOUT',
  payment_id VARCHAR(64) CHARACTER SET ascii NULL COMMENT 'REFUND: the refunded payment',
  payout_id VARCHAR(64) CHARACTER SET ascii NULL COMMENT 'PAYOUT: the payouts row',
  seller_id VARCHAR(128) NOT NULL,
  currency CHAR(3) CHARACTER SET ascii NOT NULL,
  amount_minor BIGINT NOT NULL,
  target_reference VARCHAR(255) NOT NULL COMMENT 'REFUND: capture reference; PAYOUT: payout account',
  state VARCHAR(16) CHARACTER SET ascii NOT NULL COMMENT 'PENDING, DONE, FAILED',
  attempts INT NOT NULL DEFAULT 0,
  next_attempt_at DATETIME(6) NOT NULL COMMENT 'UTC; also the lease of a claimed attempt',
  processor_reference VARCHAR(255) NOT NULL DEFAULT '',
  last_error VARCHAR(500) NOT NULL DEFAULT '',
  created_at DATETIME(6) NOT NULL COMMENT 'UTC',
  updated_at DATETIME(6) NOT NULL COMMENT 'UTC',
  PRIMARY KEY (operation_id),
  KEY processor_operations_due (state, next_attempt_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Payouts still PENDING from before this table existed: the worker completes them too.
INSERT IGNORE INTO processor_operations (operation_id, kind, payment_id, payout_id, seller_id,
  currency, amount_minor, target_reference, state, attempts, next_attempt_at, created_at,
  updated_at)
SELECT CONCAT('payout_', payout_id), 'PAYOUT', NULL, payout_id, seller_id, currency,
  amount_minor, payout_account, 'PENDING', 0, created_at, created_at, created_at
FROM payouts WHERE state = 'PENDING';

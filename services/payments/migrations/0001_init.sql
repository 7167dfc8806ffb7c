-- Payments: escrowed payments, their history, the double-entry ledger journal, per-seller
-- balances (the row locked by every movement of a seller's money), hold policies, payouts.
-- The journal tables (payment_events, ledger_transactions, ledger_entries) are append-only:
-- the service's database user may only INSERT and SELECT them (provision_db.sh).

CREATE TABLE IF NOT EXISTS payments (
  payment_id VARCHAR(64) CHARACTER SET ascii NOT NULL,
  order_id VARCHAR(128) NOT NULL,
  buyer_id VARCHAR(128) NOT NULL,
  seller_id VARCHAR(128) NOT NULL,
  currency CHAR(3) CHARACTER SET ascii NOT NULL,
  amount_minor BIGINT NOT NULL,
  commission_bps INT NOT NULL,
  state VARCHAR(16) CHARACTER SET ascii NOT NULL COMMENT 'HELD, DISPUTED, RELEASED, REFUNDED, GUARANTEED',
  refunded_minor BIGINT NOT NULL DEFAULT 0,
  commission_minor BIGINT NOT NULL DEFAULT 0,
  seller_net_minor BIGINT NOT NULL DEFAULT 0,
  guarantee_minor BIGINT NOT NULL DEFAULT 0,
  processor_reference VARCHAR(255) NOT NULL,
  created_at DATETIME(6) NOT NULL COMMENT 'UTC',
  release_due_at DATETIME(6) NOT NULL COMMENT 'UTC',
  released_at DATETIME(6) NULL COMMENT 'UTC',
  PRIMARY KEY (payment_id),
  UNIQUE KEY payments_order (order_id),
  KEY payments_due (state, release_due_at),
  KEY payments_buyer (buyer_id, created_at, payment_id),
  KEY payments_seller (seller_id, created_at, payment_id),
  KEY payments_created (created_at, payment_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS payment_events (
  id BIGINT NOT NULL AUTO_INCREMENT,
  payment_id VARCHAR(64) CHARACTER SET ascii NOT NULL,
  type VARCHAR(32) CHARACTER SET ascii NOT NULL,
  state VARCHAR(16) CHARACTER SET ascii NOT NULL COMMENT 'state after the change',
  actor VARCHAR(128) NOT NULL,
  amount_minor BIGINT NULL,
  currency CHAR(3) CHARACTER SET ascii NULL,
  reason_code VARCHAR(64) NOT NULL DEFAULT '',
  note TEXT NOT NULL,
  occurred_at DATETIME(6) NOT NULL COMMENT 'UTC',
  PRIMARY KEY (id),
  KEY payment_events_payment (payment_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS ledger_transactions (
  id BIGINT NOT NULL AUTO_INCREMENT,
  kind VARCHAR(32) CHARACTER SET ascii NOT NULL COMMENT 'capture, release, refund, dispute_resolution, payout',
  payment_id VARCHAR(64) CHARACTER SET ascii NULL,
  payout_id VARCHAR(64) CHARACTER SET ascii NULL,
  memo VARCHAR(255) NOT NULL,
  created_at DATETIME(6) NOT NULL COMMENT 'UTC',
  PRIMARY KEY (id),
  KEY ledger_transactions_payment (payment_id, id),
  KEY ledger_transactions_payout (payout_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS ledger_entries (
  id BIGINT NOT NULL AUTO_INCREMENT,
  transaction_id BIGINT NOT NULL,
  account_kind VARCHAR(32) CHARACTER SET ascii NOT NULL,
  account_owner VARCHAR(128) NOT NULL COMMENT 'seller id for per-seller kinds, empty otherwise',
  currency CHAR(3) CHARACTER SET ascii NOT NULL,
  amount_minor BIGINT NOT NULL COMMENT 'signed: added to the account balance',
  created_at DATETIME(6) NOT NULL COMMENT 'UTC',
  PRIMARY KEY (id),
  KEY ledger_entries_transaction (transaction_id),
  KEY ledger_entries_account (account_kind, account_owner, currency)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- One row per seller and currency holding the balances of the seller's three accounts
-- (escrow, seller_available, seller_paid_out) as the ledger entries sum them. Every ledger
-- transaction touching a seller's money locks this row (SELECT ... FOR UPDATE) and updates it
-- in the same database transaction. Platform-wide accounts have no balance row (they would be
-- a lock every payment contends on); VerifyLedger sums their entries.
CREATE TABLE IF NOT EXISTS seller_accounts (
  seller_id VARCHAR(128) NOT NULL,
  currency CHAR(3) CHARACTER SET ascii NOT NULL,
  escrow_minor BIGINT NOT NULL DEFAULT 0,
  available_minor BIGINT NOT NULL DEFAULT 0 COMMENT 'negative: the seller owes the platform',
  paid_out_minor BIGINT NOT NULL DEFAULT 0,
  updated_at DATETIME(6) NOT NULL COMMENT 'UTC',
  PRIMARY KEY (seller_id, currency)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS hold_policies (
  seller_id VARCHAR(128) NOT NULL,
  hold_seconds BIGINT NOT NULL,
  reason VARCHAR(500) NOT NULL,
  updated_by VARCHAR(128) NOT NULL,
  updated_at DATETIME(6) NOT NULL COMMENT 'UTC',
  PRIMARY KEY (seller_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS payouts (
  payout_id VARCHAR(64) CHARACTER SET ascii NOT NULL,
  seller_id VARCHAR(128) NOT NULL,
  currency CHAR(3) CHARACTER SET ascii NOT NULL,
  amount_minor BIGINT NOT NULL,
  payout_account VARCHAR(255) NOT NULL COMMENT 'processor reference of the seller payout account',
  state VARCHAR(16) CHARACTER SET ascii NOT NULL COMMENT 'PENDING until the processor confirmed, then PAID',
  processor_reference VARCHAR(255) NOT NULL DEFAULT '',
  created_at DATETIME(6) NOT NULL COMMENT 'UTC',
  PRIMARY KEY (payout_id),
  KEY payouts_seller (seller_id, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS disputes (
  payment_id VARCHAR(64) CHARACTER SET ascii NOT NULL,
  reason_code VARCHAR(32) CHARACTER SET ascii NOT NULL,
  description TEXT NOT NULL,
  opened_by VARCHAR(128) NOT NULL,
  opened_at DATETIME(6) NOT NULL COMMENT 'UTC',
  outcome VARCHAR(32) CHARACTER SET ascii NULL,
  buyer_share_minor BIGINT NULL,
  explanation TEXT NULL,
  resolved_by VARCHAR(128) NULL,
  resolved_at DATETIME(6) NULL COMMENT 'UTC',
  PRIMARY KEY (payment_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

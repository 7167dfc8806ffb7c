-- The scheduled ledger verification (ledger_verifier.*): one row. A replica claims the run when
-- next_run_at has passed and no other holds the lease (lease_until), verifies the ledger, and
-- records the result; every replica exports the last result (payments_ledger_verification_ok).
CREATE TABLE IF NOT EXISTS ledger_verifications (
  job VARCHAR(32) CHARACTER SET ascii NOT NULL PRIMARY KEY,
  next_run_at DATETIME(6) NOT NULL,
  lease_until DATETIME(6) NULL,
  leased_by VARCHAR(128) CHARACTER SET ascii NOT NULL DEFAULT '',
  last_run_at DATETIME(6) NULL,
  last_ok TINYINT NULL,
  last_violations INT NOT NULL DEFAULT 0,
  last_detail VARCHAR(1000) NOT NULL DEFAULT '',
  last_by VARCHAR(128) CHARACTER SET ascii NOT NULL DEFAULT ''
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
INSERT IGNORE INTO ledger_verifications (job, next_run_at) VALUES ('ledger', '1970-01-01');

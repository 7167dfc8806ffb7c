-- identity: accounts, credentials, sessions, login throttling, seller onboarding, signing
-- keys, request ids and the audit log. Times are UTC (DATETIME(6)). Digests and keys are
-- stored as lower-case hex, so every column that holds one is plain ASCII.
-- Every statement can run again (IF NOT EXISTS): MariaDB commits DDL one statement at a time.

-- Passwords only as Argon2id encoded hashes; service client secrets only as SHA-256.
-- email_key is the lower-cased email, unique; NULL for SERVICE accounts (which have none).
CREATE TABLE IF NOT EXISTS accounts (
  id CHAR(32) CHARACTER SET ascii NOT NULL,
  email VARCHAR(254) NULL,
  email_key VARCHAR(254) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
  display_name VARCHAR(100) NOT NULL,
  role VARCHAR(16) CHARACTER SET ascii NOT NULL,
  status VARCHAR(16) CHARACTER SET ascii NOT NULL,
  password_hash VARCHAR(255) CHARACTER SET ascii NULL,
  client_secret_sha256 CHAR(64) CHARACTER SET ascii NULL,
  scopes VARCHAR(2200) CHARACTER SET ascii NOT NULL DEFAULT '',
  suspension_reason_code VARCHAR(64) CHARACTER SET ascii NULL,
  suspension_reason TEXT NULL,
  suspended_by CHAR(32) CHARACTER SET ascii NULL,
  suspended_at DATETIME(6) NULL,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY accounts_email_key (email_key),
  KEY accounts_by_creation (created_at, id),
  KEY accounts_by_role (role, created_at, id),
  KEY accounts_by_status (status, created_at, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- A login and everything refreshed from it. expires_at counts from the login.
CREATE TABLE IF NOT EXISTS sessions (
  id CHAR(32) CHARACTER SET ascii NOT NULL,
  account_id CHAR(32) CHARACTER SET ascii NOT NULL,
  created_at DATETIME(6) NOT NULL,
  expires_at DATETIME(6) NOT NULL,
  revoked_at DATETIME(6) NULL,
  revoke_reason VARCHAR(32) CHARACTER SET ascii NULL,
  PRIMARY KEY (id),
  KEY sessions_by_account (account_id, revoked_at),
  KEY sessions_by_expiry (expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Refresh tokens only as SHA-256 hashes. used_at is set exactly once, by a conditional UPDATE.
CREATE TABLE IF NOT EXISTS refresh_tokens (
  token_sha256 CHAR(64) CHARACTER SET ascii NOT NULL,
  session_id CHAR(32) CHARACTER SET ascii NOT NULL,
  created_at DATETIME(6) NOT NULL,
  expires_at DATETIME(6) NOT NULL,
  used_at DATETIME(6) NULL,
  PRIMARY KEY (token_sha256),
  KEY refresh_tokens_by_session (session_id),
  KEY refresh_tokens_by_expiry (expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Login throttling per email, keyed by the SHA-256 of the lower-cased email so that emails of
-- people without an account are never stored. One row an email; its row lock serialises
-- concurrent attempts.
CREATE TABLE IF NOT EXISTS login_throttle (
  email_sha256 CHAR(64) CHARACTER SET ascii NOT NULL,
  consecutive_failures INT NOT NULL DEFAULT 0,
  last_failure_at DATETIME(6) NULL,
  PRIMARY KEY (email_sha256)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Failed attempts of the last hour (older ones are deleted), for the hourly ceiling.
CREATE TABLE IF NOT EXISTS login_failures (
  id BIGINT NOT NULL AUTO_INCREMENT,
  email_sha256 CHAR(64) CHARACTER SET ascii NOT NULL,
  attempted_at DATETIME(6) NOT NULL,
  PRIMARY KEY (id),
  KEY login_failures_by_email (email_sha256, attempted_at),
  KEY login_failures_by_time (attempted_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The latest seller application and its status (NOT_SUBMITTED has no row).
CREATE TABLE IF NOT EXISTS seller_profiles (
  account_id CHAR(32) CHARACTER SET ascii NOT NULL,
  status VARCHAR(16) CHARACTER SET ascii NOT NULL,
  legal_name VARCHAR(200) NOT NULL,
  registration_number VARCHAR(64) NOT NULL,
  country_code CHAR(2) CHARACTER SET ascii NOT NULL,
  payout_account_ref VARCHAR(128) CHARACTER SET ascii NOT NULL,
  contact_email VARCHAR(254) NOT NULL,
  contact_phone VARCHAR(16) CHARACTER SET ascii NOT NULL DEFAULT '',
  submitted_at DATETIME(6) NOT NULL,
  PRIMARY KEY (account_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Every decision about a seller, in order: reviews, suspensions, reinstatements.
CREATE TABLE IF NOT EXISTS seller_decisions (
  id BIGINT NOT NULL AUTO_INCREMENT,
  account_id CHAR(32) CHARACTER SET ascii NOT NULL,
  kind VARCHAR(32) CHARACTER SET ascii NOT NULL,
  reason_code VARCHAR(64) CHARACTER SET ascii NOT NULL DEFAULT '',
  reason TEXT NOT NULL,
  decided_by CHAR(32) CHARACTER SET ascii NOT NULL,
  decided_at DATETIME(6) NOT NULL,
  PRIMARY KEY (id),
  KEY seller_decisions_by_account (account_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Ed25519 token signing keys. The private key is sealed with the key-encryption key (never in
-- clear here); kek_id names which KEK. state_slot makes "one NEXT, one ACTIVE" a constraint.
CREATE TABLE IF NOT EXISTS signing_keys (
  kid VARCHAR(64) CHARACTER SET ascii NOT NULL,
  alg VARCHAR(16) CHARACTER SET ascii NOT NULL,
  public_key_hex VARCHAR(128) CHARACTER SET ascii NOT NULL,
  sealed_private_key_hex VARCHAR(512) CHARACTER SET ascii NOT NULL,
  kek_id CHAR(16) CHARACTER SET ascii NOT NULL,
  state VARCHAR(16) CHARACTER SET ascii NOT NULL,
  state_slot VARCHAR(16) CHARACTER SET ascii
      AS (IF(state IN ('NEXT', 'ACTIVE'), state, NULL)) PERSISTENT,
  created_at DATETIME(6) NOT NULL,
  activated_at DATETIME(6) NULL,
  retired_at DATETIME(6) NULL,
  expires_at DATETIME(6) NULL,
  PRIMARY KEY (kid),
  UNIQUE KEY signing_keys_one_per_state (state_slot),
  KEY signing_keys_by_expiry (state, expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Client request ids (idempotency keys), kept 24 hours.
CREATE TABLE IF NOT EXISTS request_ids (
  scope VARCHAR(128) CHARACTER SET ascii NOT NULL,
  request_id VARCHAR(64) CHARACTER SET ascii NOT NULL,
  fingerprint CHAR(64) CHARACTER SET ascii NOT NULL,
  resource_id VARCHAR(200) CHARACTER SET ascii NOT NULL,
  created_at DATETIME(6) NOT NULL,
  PRIMARY KEY (scope, request_id),
  KEY request_ids_by_time (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Who did what to whom. Append-only: the service never updates or deletes a row.
CREATE TABLE IF NOT EXISTS audit_log (
  id BIGINT NOT NULL AUTO_INCREMENT,
  occurred_at DATETIME(6) NOT NULL,
  event_type VARCHAR(64) CHARACTER SET ascii NOT NULL,
  actor_id CHAR(32) CHARACTER SET ascii NULL,
  account_id CHAR(32) CHARACTER SET ascii NULL,
  request_id VARCHAR(128) CHARACTER SET ascii NOT NULL DEFAULT '',
  detail TEXT NOT NULL,
  PRIMARY KEY (id),
  KEY audit_log_by_account (account_id, id),
  KEY audit_log_by_time (occurred_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

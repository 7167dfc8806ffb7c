-- Accounts whose access tokens issued before not_before are refused by this service
-- (common/events/revocations.h), fed by identity's identity.account_suspended and
-- identity.sessions_revoked events.
CREATE TABLE IF NOT EXISTS token_revocations (
  account_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  not_before DATETIME(6) NOT NULL COMMENT 'UTC; tokens with iat before it are refused',
  updated_at DATETIME(6) NOT NULL COMMENT 'UTC',
  PRIMARY KEY (account_id),
  KEY token_revocations_not_before (not_before)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

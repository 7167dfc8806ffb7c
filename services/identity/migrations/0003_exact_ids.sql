-- Ids compare exactly. 0001 gave id columns the ascii charset's default collation
-- (ascii_general_ci), under which 'ABC...' finds the row of 'abc...': an id had many spellings
-- in the database but one in code. Every column holding an id identity issues (accounts,
-- sessions, signing keys), a digest, or a client's request id now uses ascii_bin; the API
-- refuses any other spelling of an account id (32 lowercase hex digits) as INVALID_ARGUMENT.
-- MODIFY keeps keys and data (the stored ids are already lowercase hex); running it again
-- changes nothing.

ALTER TABLE accounts
  MODIFY id CHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  MODIFY suspended_by CHAR(32) CHARACTER SET ascii COLLATE ascii_bin NULL;

ALTER TABLE sessions
  MODIFY id CHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  MODIFY account_id CHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL;

ALTER TABLE refresh_tokens
  MODIFY token_sha256 CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  MODIFY session_id CHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL;

ALTER TABLE login_throttle
  MODIFY email_sha256 CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL;

ALTER TABLE login_failures
  MODIFY email_sha256 CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL;

ALTER TABLE seller_profiles
  MODIFY account_id CHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL;

ALTER TABLE seller_decisions
  MODIFY account_id CHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  MODIFY decided_by CHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL;

ALTER TABLE signing_keys
  MODIFY kid VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL;

ALTER TABLE request_ids
  MODIFY scope VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  MODIFY request_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL;

ALTER TABLE audit_log
  MODIFY actor_id CHAR(32) CHARACTER SET ascii COLLATE ascii_bin NULL,
  MODIFY account_id CHAR(32) CHARACTER SET ascii COLLATE ascii_bin NULL;

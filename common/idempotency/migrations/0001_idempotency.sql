-- Request ids of mutating calls with the first result, so that a retry returns that result
-- (common/idempotency/idempotency.h). Kept at least 24 hours, then purged.
CREATE TABLE IF NOT EXISTS idempotency_keys (
  caller VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL COMMENT 'authenticated subject',
  method VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL COMMENT 'full gRPC method name',
  request_id VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  request_hash BINARY(32) NOT NULL COMMENT 'SHA-256 of the deterministic request bytes',
  completed BOOL NOT NULL DEFAULT FALSE COMMENT 'the result columns are set',
  status_code INT NOT NULL DEFAULT 0 COMMENT 'absl::StatusCode of the first result',
  status_message TEXT NULL,
  status_details BLOB NULL COMMENT 'google.rpc.Status bytes carrying the error payloads',
  response LONGBLOB NULL COMMENT 'serialized response message when status_code is 0',
  created_at DATETIME(6) NOT NULL COMMENT 'UTC',
  PRIMARY KEY (caller, method, request_id),
  KEY idempotency_keys_created (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

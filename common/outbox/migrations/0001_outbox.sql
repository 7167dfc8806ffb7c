-- The transactional outbox: events written in the transaction of the change they report,
-- delivered afterwards by OutboxRelay (common/outbox/outbox_relay.h).
CREATE TABLE IF NOT EXISTS outbox_events (
  id BIGINT NOT NULL AUTO_INCREMENT COMMENT 'write order: the delivery order within a key',
  event_id VARCHAR(64) CHARACTER SET ascii NOT NULL,
  topic VARCHAR(255) CHARACTER SET ascii NOT NULL,
  source VARCHAR(128) NOT NULL,
  event_key VARCHAR(255) NOT NULL,
  payload_type_url VARCHAR(512) NOT NULL,
  payload LONGBLOB NOT NULL COMMENT 'google.protobuf.Any value bytes',
  occurred_at DATETIME(6) NOT NULL COMMENT 'UTC',
  attempts INT NOT NULL DEFAULT 0 COMMENT 'deliveries tried so far',
  next_attempt_at DATETIME(6) NOT NULL COMMENT 'UTC; due when <= now',
  delivered_at DATETIME(6) NULL COMMENT 'UTC; NULL while pending',
  last_error VARCHAR(1024) NULL COMMENT 'why the last attempt failed',
  PRIMARY KEY (id),
  UNIQUE KEY outbox_events_event_id (event_id),
  KEY outbox_events_pending (delivered_at, id),
  KEY outbox_events_by_key (event_key, delivered_at, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Consumer side: ids of events already applied (MarkEventProcessed).
CREATE TABLE IF NOT EXISTS processed_events (
  event_id VARCHAR(64) CHARACTER SET ascii NOT NULL,
  processed_at DATETIME(6) NOT NULL COMMENT 'UTC',
  PRIMARY KEY (event_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

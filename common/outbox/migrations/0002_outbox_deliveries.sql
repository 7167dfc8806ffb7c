-- Per-subscriber delivery (OutboxRelay, common/outbox/outbox_relay.h). The relay fans each
-- event out to the subscribers whose topic prefix matches it (one outbox_deliveries row each),
-- then delivers each subscriber's rows on their own: a slow or absent subscriber delays only
-- itself. From this version on, outbox_events.attempts, next_attempt_at, delivered_at and
-- last_error are no longer written by the relay (they describe deliveries made before it).
ALTER TABLE outbox_events
  ADD COLUMN IF NOT EXISTS fanned_out_at DATETIME(6) NULL
    COMMENT 'UTC; when its outbox_deliveries rows were made; NULL: not yet',
  ADD KEY IF NOT EXISTS outbox_events_fan_out (fanned_out_at, id);

-- Events delivered by the previous relay are not delivered again.
UPDATE outbox_events SET fanned_out_at = delivered_at
  WHERE delivered_at IS NOT NULL AND fanned_out_at IS NULL;

-- One row per (subscriber, event) not delivered yet; deleted once the subscriber accepts it.
CREATE TABLE IF NOT EXISTS outbox_deliveries (
  subscriber VARCHAR(64) CHARACTER SET ascii NOT NULL,
  event_row BIGINT NOT NULL COMMENT 'outbox_events.id: the event, and its order within the key',
  event_key VARCHAR(255) NOT NULL,
  attempts INT NOT NULL DEFAULT 0 COMMENT 'deliveries tried so far',
  refusals INT NOT NULL DEFAULT 0
    COMMENT 'attempts the subscriber refused (INVALID_ARGUMENT, FAILED_PRECONDITION)',
  next_attempt_at DATETIME(6) NOT NULL COMMENT 'UTC; due when <= now',
  lease_owner VARCHAR(64) CHARACTER SET ascii NULL COMMENT 'the relay publishing it now',
  lease_expires_at DATETIME(6) NULL COMMENT 'UTC; after it another relay may claim the row',
  last_error VARCHAR(1024) NULL COMMENT 'why the last attempt failed',
  PRIMARY KEY (subscriber, event_row),
  KEY outbox_deliveries_by_key (subscriber, event_key, event_row),
  KEY outbox_deliveries_event (event_row)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Events a subscriber refused max_refusals times: no longer retried, and no longer holding
-- back the later events of their key. The event stays in outbox_events while it is here.
-- Replay (README of common/outbox): move the row back to outbox_deliveries.
CREATE TABLE IF NOT EXISTS outbox_dead_letters (
  subscriber VARCHAR(64) CHARACTER SET ascii NOT NULL,
  event_row BIGINT NOT NULL COMMENT 'outbox_events.id',
  event_id VARCHAR(64) CHARACTER SET ascii NOT NULL,
  topic VARCHAR(255) CHARACTER SET ascii NOT NULL,
  event_key VARCHAR(255) NOT NULL,
  attempts INT NOT NULL,
  last_error VARCHAR(1024) NULL COMMENT 'the last refusal',
  dead_at DATETIME(6) NOT NULL COMMENT 'UTC',
  PRIMARY KEY (subscriber, event_row),
  KEY outbox_dead_letters_event_id (event_id),
  KEY outbox_dead_letters_event (event_row)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

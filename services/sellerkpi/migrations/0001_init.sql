-- sellerkpi: the append-only event log, per seller x UTC day x counter aggregates, the
-- (seller, order) rows that make an order count once, the thresholds with their versions, and
-- the evaluations (README "Storage").

-- Every event applied, once: the key of idempotency is event_id. Never updated but for
-- `excluded` (ExcludeSellerEvent), never deleted.
CREATE TABLE IF NOT EXISTS seller_events (
  event_id VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  content_hash BINARY(32) NOT NULL COMMENT 'SHA-256 of the event as sent (source and output fields left out)',
  source VARCHAR(32) CHARACTER SET ascii NOT NULL COMMENT 'api, payments, support, catalog',
  type VARCHAR(32) CHARACTER SET ascii NOT NULL COMMENT 'ORDER_PLACED, ...',
  seller_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  occurred_at DATETIME(6) NOT NULL COMMENT 'UTC',
  order_id VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL DEFAULT '',
  ticket_id VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL DEFAULT '',
  dispute_id VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL DEFAULT '',
  listing_id VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL DEFAULT '',
  kpi_mask BIGINT NOT NULL DEFAULT 0 COMMENT 'bit k: counts as evidence of Kpi k (numerator side)',
  payload BLOB NOT NULL COMMENT 'marketplace.sellerkpi.v1.SellerEvent bytes',
  excluded BOOL NOT NULL DEFAULT FALSE,
  recorded_at DATETIME(6) NOT NULL COMMENT 'UTC',
  seq BIGINT NOT NULL AUTO_INCREMENT COMMENT 'arrival order',
  PRIMARY KEY (event_id),
  UNIQUE KEY seller_events_seq (seq),
  KEY seller_events_by_seller (seller_id, occurred_at, event_id),
  KEY seller_events_by_order (seller_id, order_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Seller x UTC day x counter: O(1) per event (n = n + delta), a window sums <= 90 days.
-- Order counters (orders, odr_defects, incidents, disputed_orders, seller_cancellations) sit
-- on the order's day; the others on the event's own day.
CREATE TABLE IF NOT EXISTS seller_day_counters (
  seller_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  day DATE NOT NULL COMMENT 'UTC',
  counter VARCHAR(32) CHARACTER SET ascii NOT NULL,
  n BIGINT NOT NULL,
  PRIMARY KEY (seller_id, day, counter)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- One row per (seller, order), whichever sources report it: the order's day (the earliest
-- ORDER_PLACED) and what currently makes it defective.
CREATE TABLE IF NOT EXISTS seller_orders (
  seller_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  order_id VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  order_day DATE NULL COMMENT 'UTC day of the earliest ORDER_PLACED; NULL until one arrives',
  low_rating BOOL NOT NULL DEFAULT FALSE,
  claim_counts BOOL NOT NULL DEFAULT FALSE COMMENT 'the latest claim event says it counts',
  claim_at DATETIME(6) NULL COMMENT 'occurred_at of that latest claim event',
  claim_event_id VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '',
  disputed BOOL NOT NULL DEFAULT FALSE,
  seller_cancelled BOOL NOT NULL DEFAULT FALSE,
  first_defect_at DATETIME(6) NULL COMMENT 'earliest defect event',
  first_defect_event_id VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '',
  PRIMARY KEY (seller_id, order_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Thresholds, one row per version; the highest is in force. Seeded (version 1) at first start.
CREATE TABLE IF NOT EXISTS kpi_thresholds (
  version BIGINT NOT NULL,
  body BLOB NOT NULL COMMENT 'marketplace.sellerkpi.v1.Thresholds bytes',
  updated_at DATETIME(6) NOT NULL COMMENT 'UTC',
  updated_by VARCHAR(128) NOT NULL,
  PRIMARY KEY (version)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Per seller: the health in force, the hysteresis streak, the evaluator's queue mark.
CREATE TABLE IF NOT EXISTS seller_health (
  seller_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  health TINYINT NOT NULL DEFAULT 1 COMMENT 'HealthLevel number',
  recovery_streak INT NOT NULL DEFAULT 0 COMMENT 'evaluations in a row under the recovery share',
  top_badge BOOL NOT NULL DEFAULT FALSE,
  dirty BOOL NOT NULL DEFAULT TRUE COMMENT 'events since the last evaluation',
  dirty_since DATETIME(6) NULL COMMENT 'UTC',
  last_as_of DATETIME(6) NULL COMMENT 'UTC; the last evaluation',
  scorecard BLOB NULL COMMENT 'the last evaluation: marketplace.sellerkpi.v1.SellerScorecard bytes',
  PRIMARY KEY (seller_id),
  KEY seller_health_dirty (dirty, dirty_since),
  KEY seller_health_by_level (health, seller_id),
  KEY seller_health_stale (last_as_of)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Every evaluation: as_of, the thresholds version, figures and levels (the scorecard).
CREATE TABLE IF NOT EXISTS seller_evaluations (
  seller_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  as_of DATETIME(6) NOT NULL COMMENT 'UTC',
  thresholds_version BIGINT NOT NULL,
  health TINYINT NOT NULL,
  top_badge BOOL NOT NULL,
  scorecard BLOB NOT NULL COMMENT 'marketplace.sellerkpi.v1.SellerScorecard bytes',
  evaluated_at DATETIME(6) NOT NULL COMMENT 'UTC',
  PRIMARY KEY (seller_id, as_of)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

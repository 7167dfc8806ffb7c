-- Buyers with a paid order, as payments announced them (payments.payment_held, consumed
-- through EventSink): their reports count toward the report threshold whatever their
-- account's age (--report_min_account_age). One row per buyer, the first order announced;
-- a redelivered event is skipped by processed_events and, failing that, by the primary key.
CREATE TABLE IF NOT EXISTS buyer_paid_orders (
  buyer_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  payment_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  order_id VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  event_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  paid_at DATETIME(6) NOT NULL,
  PRIMARY KEY (buyer_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

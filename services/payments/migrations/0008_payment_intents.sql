-- CreatePayment's durable record of intent, committed BEFORE the processor is asked to
-- authorise and capture: which request (caller, method, request_id and the SHA-256 of its
-- body), for which order, buyer, seller and amount, and the payment id the payment will have
-- (every retry of the request reuses it). authorization_reference is written just before the
-- capture is asked (no authorisation recorded: nothing was captured); capture_reference once
-- the completion worker learnt it (the payment row carries it otherwise). A retry with the same request_id and another
-- body is REQUEST_ID_REUSED even when no payment was ever written.
-- An intent is closed by exactly one row of payment_intent_outcomes (primary key: a second
-- close fails), written in the transaction of its effect:
--   COMMITTED  the payment was written (with the request's answer);
--   RETURNED   the order was paid by another request: the capture went back in that transaction;
--   REFUNDED   no payment was written within the window (--abandoned_capture_refund_after):
--              the completion worker refunded the capture (operation "intent_refund_<32 hex>");
--   ABANDONED  the window passed and nothing was captured (no authorisation recorded, or the
--              capture was refused): nothing to give back.
CREATE TABLE IF NOT EXISTS payment_intents (
  intent_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL
    COMMENT '"int_" + 32 hex of SHA-256(caller, method, request_id)',
  caller VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  method VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  request_id VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  request_hash BINARY(32) NOT NULL COMMENT 'SHA-256 of the deterministic request bytes',
  payment_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  order_id VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  buyer_id VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  seller_id VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  currency CHAR(3) CHARACTER SET ascii NOT NULL,
  amount_minor BIGINT NOT NULL,
  authorization_reference VARCHAR(255) NOT NULL DEFAULT '',
  capture_reference VARCHAR(255) NOT NULL DEFAULT '',
  created_at DATETIME(6) NOT NULL COMMENT 'UTC',
  next_check_at DATETIME(6) NOT NULL COMMENT 'UTC; the completion worker looks at it from then (also its lease)',
  PRIMARY KEY (intent_id),
  KEY payment_intents_check (next_check_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS payment_intent_outcomes (
  intent_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  outcome VARCHAR(16) CHARACTER SET ascii NOT NULL COMMENT 'COMMITTED, RETURNED, REFUNDED, ABANDONED',
  closed_at DATETIME(6) NOT NULL COMMENT 'UTC',
  PRIMARY KEY (intent_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

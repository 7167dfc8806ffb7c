-- Support's tickets, messages, history, refund commands, ratings, paid-order counts and the
-- SLA clock rows (written by the SLA engine; the schema is the issue's "Clock rows").
CREATE TABLE tickets (
  ticket_id VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
  buyer_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  seller_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  order_id VARBINARY(512) NOT NULL,
  payment_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  payment_currency CHAR(3) CHARACTER SET ascii NOT NULL,
  payment_amount_minor BIGINT NOT NULL,
  category TINYINT NOT NULL,
  channel TINYINT NOT NULL,
  level TINYINT NOT NULL,
  status TINYINT NOT NULL,
  assignee_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '',
  reason_code VARCHAR(64) CHARACTER SET ascii NOT NULL DEFAULT '',
  reason_codes_version INT NOT NULL DEFAULT 0,
  tags_json TEXT NOT NULL,
  subject VARCHAR(800) NOT NULL,
  merged_into VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '',
  follow_up_of VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '',
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  escalation_allowed_at DATETIME(6) NOT NULL,
  seller_replied TINYINT NOT NULL DEFAULT 0,
  first_reply_at DATETIME(6) NULL,
  escalated_at DATETIME(6) NULL,
  escalation_reason VARCHAR(32) CHARACTER SET ascii NOT NULL DEFAULT '',
  outcome TINYINT NOT NULL DEFAULT 0,
  resolution_note TEXT NOT NULL,
  refund_currency CHAR(3) CHARACTER SET ascii NOT NULL DEFAULT '',
  refund_amount_minor BIGINT NOT NULL DEFAULT 0,
  refund_state TINYINT NOT NULL DEFAULT 0,
  refund_request_id VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '',
  solved_at DATETIME(6) NULL,
  closed_at DATETIME(6) NULL,
  rating TINYINT NOT NULL DEFAULT 0,
  rating_comment TEXT NOT NULL,
  is_claim TINYINT NOT NULL,
  counts_against_seller TINYINT NOT NULL DEFAULT 0,
  public_messages INT NOT NULL DEFAULT 0,
  all_messages INT NOT NULL DEFAULT 0,
  history_seq INT NOT NULL DEFAULT 0,
  sort_at DATETIME(6) NOT NULL,
  KEY tickets_by_order (buyer_id, order_id, created_at),
  KEY tickets_by_seller (seller_id, sort_at, ticket_id),
  KEY tickets_by_buyer (buyer_id, sort_at, ticket_id),
  KEY tickets_queue (level, status, sort_at, ticket_id),
  KEY tickets_by_solved (status, solved_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE ticket_messages (
  ticket_id VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  seq INT NOT NULL,
  message_id VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  author_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  author_role TINYINT NOT NULL,
  visibility TINYINT NOT NULL,
  body MEDIUMTEXT NOT NULL,
  created_at DATETIME(6) NOT NULL,
  PRIMARY KEY (ticket_id, seq),
  UNIQUE KEY messages_by_id (message_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE ticket_attachments (
  message_id VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  position INT NOT NULL,
  uri VARCHAR(2048) NOT NULL,
  filename VARCHAR(1020) NOT NULL,
  content_type VARCHAR(64) CHARACTER SET ascii NOT NULL,
  size_bytes BIGINT NOT NULL,
  sha256 CHAR(64) CHARACTER SET ascii NOT NULL,
  PRIMARY KEY (message_id, position)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Every change of a ticket, in order.
CREATE TABLE ticket_history (
  ticket_id VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  seq INT NOT NULL,
  at DATETIME(6) NOT NULL,
  actor_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  actor_role TINYINT NOT NULL,
  kind VARCHAR(32) CHARACTER SET ascii NOT NULL,
  detail VARCHAR(1000) NOT NULL,
  PRIMARY KEY (ticket_id, seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Refunds decided by ResolveTicket, written with the ticket's PENDING_REFUND state; a worker
-- carries them out through payments RefundPayment with request_id.
CREATE TABLE refund_commands (
  request_id VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
  ticket_id VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  payment_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  currency CHAR(3) CHARACTER SET ascii NOT NULL,
  amount_minor BIGINT NOT NULL,
  decided_by VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  decided_level TINYINT NOT NULL,
  state TINYINT NOT NULL,
  attempts INT NOT NULL DEFAULT 0,
  next_attempt_at DATETIME(6) NOT NULL,
  created_at DATETIME(6) NOT NULL,
  KEY refund_commands_due (state, next_attempt_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Paid orders per buyer, from payments.payment_held (one row per payment): the denominator
-- of the claim rate.
CREATE TABLE paid_orders (
  payment_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
  buyer_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  order_id VARBINARY(512) NOT NULL,
  held_at DATETIME(6) NOT NULL,
  KEY paid_orders_by_buyer (buyer_id, held_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- SLA clocks (driven by the SLA engine, not by this schema's first users): one row per
-- ticket, metric and level. metric/level/party/state are the sla.proto enum numbers; state
-- 1 RUNNING, 2 PAUSED, 3 MET, 4 BREACHED.
CREATE TABLE sla_clocks (
  ticket_id VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  metric TINYINT NOT NULL,
  level TINYINT NOT NULL,
  party TINYINT NOT NULL,
  state TINYINT NOT NULL,
  policy_version BIGINT NOT NULL,
  started_at DATETIME(6) NOT NULL,
  due_at DATETIME(6) NULL,
  warn_at DATETIME(6) NULL,
  remaining_us BIGINT NULL,
  warned TINYINT NOT NULL DEFAULT 0,
  updated_at DATETIME(6) NOT NULL,
  PRIMARY KEY (ticket_id, metric, level),
  KEY sla_clocks_due (state, due_at),
  KEY sla_clocks_warn (state, warned, warn_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

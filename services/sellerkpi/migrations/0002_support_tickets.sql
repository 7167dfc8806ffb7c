-- sellerkpi: the order of each support ticket (README "Events in"). support's later events of a
-- ticket (support.ticket_resolved, support.claim_updated, support.first_response,
-- support.sla_breached) carry no order id; they are keyed by the ticket, so the relay delivers
-- support.ticket_opened first and its row is here when they come.
CREATE TABLE IF NOT EXISTS support_tickets (
  ticket_id VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  seller_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  order_id VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL DEFAULT '',
  recorded_at DATETIME(6) NOT NULL COMMENT 'UTC',
  PRIMARY KEY (ticket_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

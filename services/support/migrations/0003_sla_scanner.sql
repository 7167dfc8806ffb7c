-- The background workers (sla_scanner.*, ticket_closer.*).
-- csat_requested_at: when support.csat_requested was written for the ticket (once per ticket;
-- NULL: not yet).
ALTER TABLE tickets
  ADD COLUMN csat_requested_at DATETIME(6) NULL;

-- A refund the processor refused (FAILED, owed to the buyer) that support then paid by other
-- means: state SETTLED, with the settlement's reference, who recorded it and when.
ALTER TABLE processor_operations
  ADD COLUMN IF NOT EXISTS settlement_reference VARCHAR(255) NOT NULL DEFAULT '',
  ADD COLUMN IF NOT EXISTS settled_by VARCHAR(128) NOT NULL DEFAULT '',
  ADD COLUMN IF NOT EXISTS settled_at DATETIME(6) NULL COMMENT 'UTC';

-- Refunds without payment: the capture of a CreatePayment refused ORDER_ALREADY_PAID
-- ("return_<32 hex>") or whose payment never committed ("capture_refund_<32 hex>") given back.
-- They name the order and buyer of that request, so that staff find one the processor refused
-- for good (owed to the buyer, refunds_owed) among the refunds of the order's payment
-- (GetPayment) and settle it (SettleOwedRefund, payment_id "-"). NULL for every other row.
ALTER TABLE processor_operations
  ADD COLUMN IF NOT EXISTS order_id VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin
    NULL COMMENT 'REFUND without payment: the order of the capture it gives back',
  ADD COLUMN IF NOT EXISTS buyer_id VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL
    COMMENT 'REFUND without payment: the buyer of that capture',
  ADD KEY IF NOT EXISTS processor_operations_by_order (order_id, created_at);

-- The rows written before, as far as their intents are still kept (30 days after they were
-- closed): an abandoned capture's operation carries its intent's hash; a returned capture's
-- is ProcessorKey("return", request key) of the intent's request (processor_operations.cc).
UPDATE processor_operations o
  JOIN payment_intents i ON o.operation_id = CONCAT('capture_refund_', SUBSTRING(i.intent_id, 5))
  SET o.order_id = i.order_id, o.buyer_id = i.buyer_id
  WHERE o.kind = 'REFUND' AND o.payment_id IS NULL AND o.order_id IS NULL;
UPDATE processor_operations o
  JOIN payment_intents i
  JOIN payment_intent_outcomes c ON c.intent_id = i.intent_id AND c.outcome = 'RETURNED'
  SET o.order_id = i.order_id, o.buyer_id = i.buyer_id
  WHERE o.kind = 'REFUND' AND o.payment_id IS NULL AND o.order_id IS NULL
    AND o.operation_id = CONVERT(CONCAT('return_', LEFT(SHA2(CONCAT(i.caller, CHAR(10),
      i.method, CHAR(10), i.request_id, CHAR(10), i.request_hash), 256), 32)) USING ascii)
      COLLATE ascii_bin;

-- GetPayment lists a payment's refunds with their processor state.
ALTER TABLE processor_operations
  ADD KEY IF NOT EXISTS processor_operations_by_payment (payment_id, created_at);

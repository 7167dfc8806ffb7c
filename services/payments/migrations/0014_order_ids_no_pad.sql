-- Order ids compare byte for byte, trailing spaces included. The binary collation of 0007
-- (utf8mb4_bin) is PAD SPACE: comparisons ignore trailing spaces, so "O-1 " equalled "O-1"
-- (the unique key payments_order refused a payment for "O-1 " after one for "O-1", and
-- ListPayments(order_id = "O-1 ") answered O-1's payment), although order ids are taken as
-- given and compared exactly. utf8mb4_nopad_bin is the same binary order without the padding.
-- Rows already stored are unchanged: two ids that now differ could not both be stored before.
ALTER TABLE payments
  MODIFY order_id VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin NOT NULL;
ALTER TABLE payment_intents
  MODIFY order_id VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin NOT NULL;

-- sellerkpi: the producers' ids (order_id, ticket_id, dispute_id, listing_id) compare byte for
-- byte, trailing spaces included, as the API says ("compared exactly"). utf8mb4_bin is PAD
-- SPACE: "o-1 " equalled "o-1", so two orders differing by a trailing space shared one
-- seller_orders row and counted once. utf8mb4_nopad_bin is the same binary order without the
-- padding. Rows already stored are unchanged (two ids that now differ could not both be
-- stored before). The ALTERs rebuild the tables' indexes on these columns.
ALTER TABLE seller_events
  MODIFY order_id VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin NOT NULL DEFAULT '',
  MODIFY ticket_id VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin NOT NULL DEFAULT '',
  MODIFY dispute_id VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin NOT NULL DEFAULT '',
  MODIFY listing_id VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin NOT NULL DEFAULT '';
ALTER TABLE seller_orders
  MODIFY order_id VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin NOT NULL;
ALTER TABLE support_tickets
  MODIFY ticket_id VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin NOT NULL,
  MODIFY order_id VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin NOT NULL DEFAULT '';

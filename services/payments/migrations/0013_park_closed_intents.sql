-- A closed CreatePayment intent leaves the completion worker's range: its next_check_at is
-- moved to the end of time when it is closed (mysql_payment_store_intents.cc,
-- ParkClosedIntents), so the worker's claim walks over the open intents only, not over every
-- closed one kept for its 30-day retention. This moves the intents closed before.
UPDATE payment_intents i JOIN payment_intent_outcomes o ON o.intent_id = i.intent_id
  SET i.next_check_at = '9999-12-31 00:00:00'
  WHERE i.next_check_at < '9999-12-31 00:00:00';

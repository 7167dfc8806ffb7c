-- A closed CreatePayment intent leaves the completion worker's range: each pass of the worker
-- moves the closed intents it would meet to next_check_at = the end of time
-- (mysql_payment_store_intents.cc, ClaimOpenIntents), so its claim walks over the open
-- intents only, not over every closed one kept for its 30-day retention. This moves those
-- closed before, at once.
UPDATE payment_intents i JOIN payment_intent_outcomes o ON o.intent_id = i.intent_id
  SET i.next_check_at = '9999-12-31 00:00:00'
  WHERE i.next_check_at < '9999-12-31 00:00:00';

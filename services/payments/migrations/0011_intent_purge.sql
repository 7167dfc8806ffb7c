-- The release worker's purge deletes CreatePayment intents closed longer ago than their
-- retention (services/payments/README.md, "Retention"), oldest first, without a table scan.
ALTER TABLE payment_intent_outcomes
  ADD KEY IF NOT EXISTS payment_intent_outcomes_closed (closed_at);

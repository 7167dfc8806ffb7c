-- Escrow and paid-out balances never go below zero (available may: a seller's debt). The
-- database enforces it, so that balances written in batches (one multi-row upsert for the
-- sellers of many payments) fail the whole transaction rather than leave a bound.
ALTER TABLE seller_accounts
  ADD CONSTRAINT seller_accounts_bounds CHECK (escrow_minor >= 0 AND paid_out_minor >= 0);

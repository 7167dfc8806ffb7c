-- Two journal indexes that no query reads, dropped because every payment writes them: no
-- statement looks ledger transactions up by payout_id (a payout's transaction is found by its
-- payouts row), and only VerifyLedger groups ledger_entries by account, which scans the whole
-- table either way.
ALTER TABLE ledger_transactions DROP KEY IF EXISTS ledger_transactions_payout;
ALTER TABLE ledger_entries DROP KEY IF EXISTS ledger_entries_account;

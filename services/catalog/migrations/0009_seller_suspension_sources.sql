-- A seller's suspension in the catalog is kept per source, one row each, so that lifting one
-- does not lift the other:
--   ACCOUNT  identity suspended the account (identity.account_suspended); lifted only by
--            identity's reinstatement (identity.account_reinstated);
--   CATALOG  staff or an enforcement service called SuspendSellerListings; lifted only by
--            RestoreSellerListings.
-- The seller's listings stay SUSPENDED while any row of it is here. Rows written before this
-- migration came from whichever suspended last: `identity` (the event consumer's actor) is
-- an ACCOUNT row, anything else a CATALOG one. The code reads a row by `identity` as ACCOUNT's
-- whatever its source, for the replicas of the previous release that write rows without a
-- source during the upgrade. (UPDATE IGNORE: a run after a failure halfway may find both.)
ALTER TABLE seller_suspensions
  ADD COLUMN IF NOT EXISTS source VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL
    DEFAULT 'CATALOG' AFTER seller_id;
UPDATE IGNORE seller_suspensions SET source = 'ACCOUNT' WHERE suspended_by = 'identity';
ALTER TABLE seller_suspensions DROP PRIMARY KEY, ADD PRIMARY KEY (seller_id, source);

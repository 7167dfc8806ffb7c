-- sellerkpi: who filed an appeal (AppealEnforcement): the seller's own account id, or the
-- SUPPORT_AGENT who filed it for the seller (a suspended account cannot sign in). Empty for
-- appeals filed before the column (by their seller).
ALTER TABLE enforcement_actions
  ADD COLUMN IF NOT EXISTS appeal_filed_by VARCHAR(64) CHARACTER SET ascii NOT NULL DEFAULT ''
    COMMENT 'account id of whoever filed the appeal';

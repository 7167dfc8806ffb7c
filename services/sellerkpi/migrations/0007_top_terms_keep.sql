-- sellerkpi: TOP_SELLER_TERMS never shorten a hold longer than the GOOD one (README "Hold per
-- standing"). keep_above_seconds: on a TOP_SELLER_TERMS, the GOOD hold when it was decided; a
-- hold in force longer than it (one an operator chose) is left as it is. NULL on other actions
-- and on terms created before the column (they set their hold whatever was in force).
ALTER TABLE enforcement_actions
  ADD COLUMN IF NOT EXISTS keep_above_seconds BIGINT NULL
    COMMENT 'TOP terms: a hold in force longer than this is kept; NULL: none';

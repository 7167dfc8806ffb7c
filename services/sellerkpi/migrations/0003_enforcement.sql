-- sellerkpi: enforcement actions as sagas (README "Enforcement"). An action has ordered steps;
-- a worker claims the first unfinished step of an action when it is due (SKIP LOCKED), calls
-- the other service with the step's own request_id, and records the outcome. A claim pushes
-- next_attempt_at ahead by the lease, so a worker that dies mid-step leaves the step due again
-- once the lease ends (the step's request_id makes the repeated call harmless).
CREATE TABLE IF NOT EXISTS enforcement_actions (
  action_id VARCHAR(40) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  seller_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  type VARCHAR(32) CHARACTER SET ascii NOT NULL COMMENT 'ActionType name',
  state VARCHAR(16) CHARACTER SET ascii NOT NULL COMMENT 'IN_PROGRESS, DONE, REVERSED',
  explanation TEXT CHARACTER SET utf8mb4 NOT NULL,
  evaluation_as_of DATETIME(6) NULL COMMENT 'UTC',
  improvement_ends_at DATETIME(6) NULL COMMENT 'UTC',
  created_at DATETIME(6) NOT NULL COMMENT 'UTC',
  updated_at DATETIME(6) NOT NULL COMMENT 'UTC',
  -- The seller's appeal (at most one per action) and the ADMIN's decision.
  appeal_statement TEXT CHARACTER SET utf8mb4 NULL,
  appealed_at DATETIME(6) NULL COMMENT 'UTC; NULL: not appealed',
  appeal_decision VARCHAR(16) CHARACTER SET ascii NULL COMMENT 'UPHOLD, REINSTATE; NULL: undecided',
  decision_note TEXT CHARACTER SET utf8mb4 NULL,
  decided_by VARCHAR(64) CHARACTER SET ascii NULL,
  decided_at DATETIME(6) NULL COMMENT 'UTC',
  -- REINSTATE: the RESTORATION action that undoes this one; a RESTORATION: the action it undoes.
  related_action_id VARCHAR(40) CHARACTER SET ascii COLLATE ascii_bin NULL,
  PRIMARY KEY (action_id),
  KEY enforcement_actions_by_seller (seller_id, created_at, action_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS enforcement_steps (
  action_id VARCHAR(40) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  step_no INT NOT NULL COMMENT '0, 1, ...: the order the steps run in',
  name VARCHAR(64) CHARACTER SET ascii NOT NULL,
  request_id VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  state VARCHAR(16) CHARACTER SET ascii NOT NULL COMMENT 'PENDING, RETRYING, DONE_CHECKED',
  attempts INT NOT NULL DEFAULT 0,
  error TEXT CHARACTER SET utf8mb4 NOT NULL,
  result TEXT CHARACTER SET utf8mb4 NOT NULL COMMENT 'what the step read back (e.g. the previous setting)',
  next_attempt_at DATETIME(6) NOT NULL COMMENT 'UTC; pushed ahead by the lease when claimed',
  updated_at DATETIME(6) NOT NULL COMMENT 'UTC',
  PRIMARY KEY (action_id, step_no),
  UNIQUE KEY enforcement_steps_request (request_id),
  KEY enforcement_steps_due (state, next_attempt_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

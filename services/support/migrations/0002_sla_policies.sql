-- The SLA policy, one row per version (never updated or deleted: clocks keep the version they
-- started under, and a BUSINESS clock is paused and resumed with that version's schedule).
-- Version 1 is the seed written at first start (--sla_policy_file, else the compiled-in
-- default); UpdateSlaPolicy adds version n + 1. `policy` is the marketplace.support.v1.SlaPolicy
-- in protobuf binary form, defaults filled in, with its version, updated_at and updated_by.
CREATE TABLE sla_policies (
  version BIGINT NOT NULL PRIMARY KEY,
  policy MEDIUMBLOB NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  updated_by VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- What a clock row needs to be read back as an sla::ClockState: the target's mode (sla.proto
-- SlaMode number), the full target in seconds, the policy version's warn percent, and when it
-- stopped (MET: the reply; BREACHED: due_at).
ALTER TABLE sla_clocks
  ADD COLUMN mode TINYINT NOT NULL DEFAULT 1,
  ADD COLUMN target_s BIGINT NOT NULL DEFAULT 0,
  ADD COLUMN warn_percent INT NOT NULL DEFAULT 75,
  ADD COLUMN stopped_at DATETIME(6) NULL;

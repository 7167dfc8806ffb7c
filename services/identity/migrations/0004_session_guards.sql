-- What a login or refresh re-reads under the account's row lock before it creates a session.
-- sessions_not_before: raised (strictly) by SuspendAccount and LogoutAll in the transaction
-- that revokes the account's sessions. A login read it before its password check; if it
-- changed by the time the session is written, a suspension or LogoutAll committed meanwhile
-- and the login creates no session.
ALTER TABLE accounts ADD COLUMN IF NOT EXISTS sessions_not_before DATETIME(6) NULL;

-- Login attempts being evaluated (pending) are kept apart from completed failures: only
-- completed failures count toward the throttle; a pending attempt older than a minute (its
-- replica stopped) counts as a failure in the hourly ceiling.
ALTER TABLE login_failures ADD COLUMN IF NOT EXISTS pending BOOLEAN NOT NULL DEFAULT FALSE;

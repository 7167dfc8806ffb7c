-- support: a history line holds an escalation's whole note. EscalateTicket's note is up to
-- 2,000 characters and its line is "<reason>: <note>"; the column held 1,000, and the line was
-- cut in bytes before it was written (a cut inside a character failed the call).
ALTER TABLE ticket_history MODIFY COLUMN detail VARCHAR(2100) NOT NULL;

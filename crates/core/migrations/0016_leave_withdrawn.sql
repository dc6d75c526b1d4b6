-- Leave and attendance exclude each other (attendance.rs): a leave the desk withdraws —
-- the child came after all — is kept, with who withdrew it and when, instead of being
-- deleted; the roster, the notices and the checker read only leave that stands.
-- A parent's own request from the portal is a source of leave (`via = 'portal'`), and
-- has no staff member behind it (`asked_by` NULL).
--
-- SQLite cannot alter a CHECK or a NOT NULL, so the table is rebuilt (nothing refers to
-- it). UNIQUE (member_id, session_id) stays: a withdrawn leave asked again is the same
-- row, current again.
CREATE TABLE leave_requests_new (
    id           TEXT PRIMARY KEY,
    member_id    TEXT NOT NULL REFERENCES members(id),
    session_id   TEXT NOT NULL REFERENCES class_sessions(id),
    asked_at     TEXT NOT NULL,
    asked_by     TEXT REFERENCES staff(id),
    via          TEXT NOT NULL DEFAULT 'desk' CHECK (via IN ('desk','phone','wechat','coach','portal')),
    note         TEXT NOT NULL DEFAULT '',
    withdrawn_at TEXT,
    withdrawn_by TEXT REFERENCES staff(id),
    UNIQUE (member_id, session_id)
) STRICT;
INSERT INTO leave_requests_new (id, member_id, session_id, asked_at, asked_by, via, note)
    SELECT id, member_id, session_id, asked_at, asked_by, via, note FROM leave_requests;
DROP TABLE leave_requests;
ALTER TABLE leave_requests_new RENAME TO leave_requests;
CREATE INDEX leave_requests_session ON leave_requests(session_id);

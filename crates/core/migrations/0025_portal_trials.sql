-- A parent asks for a trial class 试课 for their child from the portal (portal.rs): such a
-- request has no staff member behind it (`requested_by` NULL), says where it came from
-- (`via`) and which guardian sent it, so the coach's pending list can mark it.
--
-- SQLite cannot drop a NOT NULL, so the table is rebuilt (nothing refers to it).
CREATE TABLE trial_requests_new (
    id           TEXT PRIMARY KEY,
    session_id   TEXT NOT NULL REFERENCES class_sessions(id),
    lead_id      TEXT REFERENCES leads(id),
    member_id    TEXT REFERENCES members(id),
    status       TEXT NOT NULL CHECK (status IN ('requested','approved','declined')),
    attended     INTEGER NOT NULL DEFAULT 0 CHECK (attended IN (0,1)),
    note         TEXT NOT NULL DEFAULT '',
    requested_by TEXT REFERENCES staff(id),
    decided_by   TEXT REFERENCES staff(id),
    created_at   TEXT NOT NULL,
    decided_at   TEXT,
    via          TEXT NOT NULL DEFAULT 'desk' CHECK (via IN ('desk','portal')),
    guardian_id  TEXT REFERENCES guardians(id),
    CHECK ((lead_id IS NULL) <> (member_id IS NULL)),
    CHECK ((via = 'portal') = (requested_by IS NULL))
) STRICT;
INSERT INTO trial_requests_new (id, session_id, lead_id, member_id, status, attended, note, requested_by, decided_by, created_at, decided_at)
    SELECT id, session_id, lead_id, member_id, status, attended, note, requested_by, decided_by, created_at, decided_at FROM trial_requests;
DROP TABLE trial_requests;
ALTER TABLE trial_requests_new RENAME TO trial_requests;
CREATE INDEX trial_requests_session ON trial_requests(session_id);

-- The parents' portal 家长端 (portal.rs). An invite is a single-use link for one guardian:
-- only the SHA-256 of its token is kept (here and, through the change log, at head
-- office), and a new invite revokes the guardian's earlier ones.
CREATE TABLE portal_invites (
    id          TEXT PRIMARY KEY,                -- SHA-256 of the token, hex
    guardian_id TEXT NOT NULL REFERENCES guardians(id),
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    created_by  TEXT REFERENCES staff(id),
    revoked_at  TEXT
) STRICT;
CREATE INDEX portal_invites_guardian ON portal_invites(guardian_id);

-- A guardian's answer to the centre's privacy notice, as the portal sent it.
CREATE TABLE portal_consents (
    guardian_id TEXT PRIMARY KEY REFERENCES guardians(id),
    version     INTEGER NOT NULL,
    accepted    INTEGER NOT NULL CHECK (accepted IN (0,1)),
    at          TEXT NOT NULL
) STRICT;

-- A portal request is inbox item `inbox_number` of head office's inbox for this centre,
-- sent by `guardian_id`. The highest applied number is the desk's cursor: it lives in
-- the same transaction as the request's effect, so a crash or a restored backup can
-- neither lose nor double a request (a restored desk pulls again from its own cursor).
ALTER TABLE requests ADD COLUMN inbox_number INTEGER;
ALTER TABLE requests ADD COLUMN guardian_id TEXT;
CREATE UNIQUE INDEX requests_inbox_number ON requests(inbox_number) WHERE inbox_number IS NOT NULL;

-- Signing a guardian out of the parents' portal (portal.rs). Head office folds this row
-- from the change log and refuses every session of the guardian's opened before
-- `signed_out_at`: the desk's way to end a lost phone's session, and what is left of a
-- parent's "delete my portal account". `by_whom` says which of the two it was.
CREATE TABLE portal_signouts (
    guardian_id   TEXT PRIMARY KEY REFERENCES guardians(id),
    signed_out_at TEXT NOT NULL,
    by_whom       TEXT NOT NULL CHECK (by_whom IN ('desk','parent')),
    staff_id      TEXT REFERENCES staff(id)
) STRICT;

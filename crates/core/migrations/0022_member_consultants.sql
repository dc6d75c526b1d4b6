-- A member's own consultant 负责顾问 (handover.rs): set when a consultant's members are
-- handed over to another, and then the member's consultant whatever later contracts
-- name (until the next hand-over). Without a row the consultant is derived as before:
-- the newest contract's, else the lead's (visits::CONSULTANT_SQL).
CREATE TABLE member_consultants (
    member_id     TEXT PRIMARY KEY REFERENCES members(id),
    consultant_id TEXT NOT NULL REFERENCES staff(id),
    previous_id   TEXT REFERENCES staff(id),          -- whose member it was before
    since         TEXT NOT NULL,                      -- business date of the hand-over
    updated_at    TEXT NOT NULL
) STRICT;
CREATE INDEX member_consultants_consultant ON member_consultants(consultant_id);

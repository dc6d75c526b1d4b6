-- Feedback 反馈: suggestions 意见 with votes, complaints 投诉 with their handling steps,
-- and satisfaction scores 满意度 (CSAT 1–5, NPS 0–10). Dates are business dates in the
-- centre's time zone, instants UTC text.

-- A suggestion from a member, a guardian, or a name the staff typed in (at least one).
-- `public` = members may see it; staff always see the author.
CREATE TABLE suggestions (
    id            TEXT PRIMARY KEY,
    body          TEXT NOT NULL CHECK (body <> ''),
    member_id     TEXT REFERENCES members(id),
    guardian_id   TEXT REFERENCES guardians(id),
    author_name   TEXT NOT NULL DEFAULT '',
    public        INTEGER NOT NULL DEFAULT 1 CHECK (public IN (0,1)),
    staff_id      TEXT NOT NULL REFERENCES staff(id),
    created_at    TEXT NOT NULL,
    business_date TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    CHECK (member_id IS NOT NULL OR guardian_id IS NOT NULL OR author_name <> '')
) STRICT;
CREATE INDEX suggestions_date ON suggestions(business_date);

-- One vote per member per suggestion (changeable): +1 up, -1 down. Recorded by staff.
CREATE TABLE suggestion_votes (
    suggestion_id TEXT NOT NULL REFERENCES suggestions(id),
    member_id     TEXT NOT NULL REFERENCES members(id),
    vote          INTEGER NOT NULL CHECK (vote IN (-1, 1)),
    staff_id      TEXT NOT NULL REFERENCES staff(id),
    at            TEXT NOT NULL,
    PRIMARY KEY (suggestion_id, member_id)
) STRICT;

-- A complaint. `steps_done` counts the handling steps recorded (0–5, in order:
-- accept, calm, agree, act, thank); `closed_at` is set by the customer's confirmation.
-- Overdue = not closed and today (business date) after `deadline`.
CREATE TABLE complaints (
    id             TEXT PRIMARY KEY,
    complaint_no   TEXT NOT NULL UNIQUE,
    member_id      TEXT REFERENCES members(id),
    guardian_id    TEXT REFERENCES guardians(id),
    category       TEXT NOT NULL CHECK (category IN ('class','coach','staff','facility','other')),
    about_staff_id TEXT REFERENCES staff(id),
    group_id       TEXT REFERENCES class_groups(id),
    body           TEXT NOT NULL CHECK (body <> ''),
    severity       TEXT NOT NULL CHECK (severity IN ('serious','minor')),
    handler_id     TEXT NOT NULL REFERENCES staff(id),
    deadline       TEXT NOT NULL,
    steps_done     INTEGER NOT NULL DEFAULT 0 CHECK (steps_done BETWEEN 0 AND 5),
    resolution     TEXT NOT NULL DEFAULT '',
    confirmed      INTEGER CHECK (confirmed IN (0,1)),
    confirm_note   TEXT NOT NULL DEFAULT '',
    closed_at      TEXT,
    closed_date    TEXT,
    staff_id       TEXT NOT NULL REFERENCES staff(id),
    created_at     TEXT NOT NULL,
    business_date  TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    CHECK (member_id IS NOT NULL OR guardian_id IS NOT NULL),
    CHECK (closed_at IS NULL OR (steps_done = 5 AND confirmed IS NOT NULL AND closed_date IS NOT NULL))
) STRICT;
CREATE INDEX complaints_open ON complaints(deadline) WHERE closed_at IS NULL;
CREATE INDEX complaints_date ON complaints(business_date);

CREATE TABLE complaint_steps (
    id           TEXT PRIMARY KEY,
    complaint_id TEXT NOT NULL REFERENCES complaints(id),
    step         INTEGER NOT NULL CHECK (step BETWEEN 1 AND 5),
    kind         TEXT NOT NULL CHECK (kind IN ('accept','calm','agree','act','thank')),
    notes        TEXT NOT NULL CHECK (notes <> ''),
    staff_id     TEXT NOT NULL REFERENCES staff(id),
    at           TEXT NOT NULL,
    UNIQUE (complaint_id, step)
) STRICT;

-- One satisfaction answer: CSAT 1–5 (after a term or an event) or NPS 0–10.
CREATE TABLE satisfaction_scores (
    id            TEXT PRIMARY KEY,
    member_id     TEXT NOT NULL REFERENCES members(id),
    kind          TEXT NOT NULL CHECK (kind IN ('csat','nps')),
    score         INTEGER NOT NULL,
    occasion      TEXT NOT NULL DEFAULT '' CHECK (occasion IN ('', 'term', 'event')),
    group_id      TEXT REFERENCES class_groups(id),
    coach_id      TEXT REFERENCES staff(id),
    comment       TEXT NOT NULL DEFAULT '',
    staff_id      TEXT NOT NULL REFERENCES staff(id),
    created_at    TEXT NOT NULL,
    business_date TEXT NOT NULL,
    CHECK ((kind = 'csat' AND score BETWEEN 1 AND 5) OR (kind = 'nps' AND score BETWEEN 0 AND 10))
) STRICT;
CREATE INDEX satisfaction_date ON satisfaction_scores(business_date);

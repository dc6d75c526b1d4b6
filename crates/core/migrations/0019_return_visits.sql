-- Return visits 回访: the desk's contact log with enrolled families (`return_visits`),
-- and the visits planned for them (`visit_plans`), by the manager's rules or as the next
-- step of a visit. See visits.rs.

CREATE TABLE visit_plans (
    id            TEXT PRIMARY KEY,
    member_id     TEXT NOT NULL REFERENCES members(id),
    rule          TEXT NOT NULL CHECK (rule IN ('first_lesson','enrolment','complaint_closed','contract_ending','top_tier','next_step','churn')),
    -- What made it (the member, a contract, a complaint, a visit, a date): a rule plans
    -- once per source, however often the planner runs.
    source_id     TEXT NOT NULL,
    due_date      TEXT NOT NULL,
    assignee_id   TEXT REFERENCES staff(id),
    assignee_role TEXT CHECK (assignee_role IN ('manager','clerk','coach','consultant')),
    status        TEXT NOT NULL CHECK (status IN ('open','done','cancelled')),
    visit_id      TEXT,                         -- the visit that answered it
    note          TEXT NOT NULL DEFAULT '',     -- why it was cancelled
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    UNIQUE (rule, member_id, source_id),
    CHECK (assignee_id IS NOT NULL OR assignee_role IS NOT NULL),
    CHECK ((status = 'done') = (visit_id IS NOT NULL))
) STRICT;
CREATE INDEX visit_plans_open ON visit_plans(due_date) WHERE status = 'open';
CREATE INDEX visit_plans_member ON visit_plans(member_id);

CREATE TABLE return_visits (
    id              TEXT PRIMARY KEY,
    member_id       TEXT NOT NULL REFERENCES members(id),
    channel         TEXT NOT NULL CHECK (channel IN ('phone','wechat','visit','sms','other')),
    content         TEXT NOT NULL CHECK (content <> ''),
    mood            TEXT NOT NULL CHECK (mood IN ('happy','neutral','unhappy')),
    next_step       TEXT NOT NULL DEFAULT '',
    -- The family's CSAT answer given on this visit (it counts with every other answer).
    satisfaction_id TEXT REFERENCES satisfaction_scores(id),
    staff_id        TEXT NOT NULL REFERENCES staff(id),
    at              TEXT NOT NULL,
    business_date   TEXT NOT NULL
) STRICT;
CREATE INDEX return_visits_member ON return_visits(member_id, at);
CREATE INDEX return_visits_date ON return_visits(business_date);

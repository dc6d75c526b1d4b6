-- Churn warnings 流失预警 (churn.rs): members at risk, with the reasons found by the last
-- scan. A member has at most one current flag (not cleared); a flag acted on, dismissed
-- or snoozed is off the worklist until `hidden_until`, and cleared when no reason is left.
CREATE TABLE churn_flags (
    id            TEXT PRIMARY KEY,
    member_id     TEXT NOT NULL REFERENCES members(id),
    warned_at     TEXT NOT NULL,               -- the instant it was first raised (UTC)
    first_warned  TEXT NOT NULL,               -- …and its business date
    reasons       TEXT NOT NULL,               -- JSON list of {code, …} as of the last scan
    status        TEXT NOT NULL CHECK (status IN ('open','acted','dismissed','snoozed','cleared')),
    hidden_until  TEXT,                        -- acted / dismissed / snoozed: back on the list after
    note          TEXT NOT NULL DEFAULT '',    -- why it was dismissed
    visit_plan_id TEXT REFERENCES visit_plans(id),
    staff_id      TEXT REFERENCES staff(id),   -- who acted on, dismissed or snoozed it
    cleared_date  TEXT,
    updated_at    TEXT NOT NULL,
    CHECK ((status = 'cleared') = (cleared_date IS NOT NULL)),
    CHECK (status IN ('open','cleared') OR hidden_until IS NOT NULL)
) STRICT;
CREATE UNIQUE INDEX churn_flags_current ON churn_flags(member_id) WHERE status <> 'cleared';
CREATE INDEX churn_flags_warned ON churn_flags(first_warned);

-- Member tiers 会员等级: each member's current tier as the last evaluation left it (see
-- tiers.rs for the rule). One row per member that ever held a tier; `level` 0 means "no
-- tier" (the row stays so a member who drops out of every tier is a change, logged like
-- any other, and head office never needs a delete). The names and the discount are
-- copied from the manager's tier table at the time of the change, so a later edit of the
-- table is itself a change at the next evaluation. History is the change log
-- (entity `member_tier`, subject the member): every row written here is logged whole.
CREATE TABLE member_tiers (
    member_id         TEXT PRIMARY KEY REFERENCES members(id),
    level             INTEGER NOT NULL CHECK (level >= 0),       -- 0 none, 1 the lowest tier
    name_zh           TEXT NOT NULL DEFAULT '',
    name_en           TEXT NOT NULL DEFAULT '',
    discount_permille INTEGER NOT NULL DEFAULT 0 CHECK (discount_permille BETWEEN 0 AND 1000),
    basis             TEXT NOT NULL CHECK (basis IN ('spend','points')),
    value             INTEGER NOT NULL,                          -- fen or points in the period, when it changed
    period_from       TEXT NOT NULL,                             -- first business date counted
    period_to         TEXT NOT NULL,                             -- last business date counted
    previous_level    INTEGER NOT NULL DEFAULT 0,
    previous_zh       TEXT NOT NULL DEFAULT '',
    previous_en       TEXT NOT NULL DEFAULT '',
    since             TEXT NOT NULL,                             -- business date of the change
    updated_at        TEXT NOT NULL
) STRICT;
CREATE INDEX member_tiers_level ON member_tiers(level);

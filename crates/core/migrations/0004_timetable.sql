-- Timetable 课表 and attendance 考勤: rooms, class groups and their members, the base
-- weekly timetable and seasonal ones, closures, dated sessions, roll call, leave and
-- trial requests, and the queue of notices to parents.

CREATE TABLE rooms (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    capacity   INTEGER NOT NULL CHECK (capacity > 0),
    archived   INTEGER NOT NULL DEFAULT 0 CHECK (archived IN (0,1)),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;

CREATE TABLE class_groups (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    course     TEXT NOT NULL DEFAULT '',
    level      TEXT NOT NULL DEFAULT '',
    coach_id   TEXT REFERENCES staff(id),
    capacity   INTEGER NOT NULL CHECK (capacity > 0),
    archived   INTEGER NOT NULL DEFAULT 0 CHECK (archived IN (0,1)),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;

CREATE TABLE group_members (
    id         TEXT PRIMARY KEY,
    group_id   TEXT NOT NULL REFERENCES class_groups(id),
    member_id  TEXT NOT NULL REFERENCES members(id),
    start_date TEXT NOT NULL,
    end_date   TEXT CHECK (end_date IS NULL OR end_date >= start_date),
    created_at TEXT NOT NULL
) STRICT;
CREATE INDEX group_members_group ON group_members(group_id, start_date);
CREATE INDEX group_members_member ON group_members(member_id);

-- A period whose own slots replace the base timetable (winter, summer, competition).
CREATE TABLE seasons (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    from_date  TEXT NOT NULL,
    to_date    TEXT NOT NULL CHECK (to_date >= from_date),
    created_at TEXT NOT NULL
) STRICT;

-- Weekly slots: season_id NULL is the base timetable 基础课表.
CREATE TABLE timetable_slots (
    id         TEXT PRIMARY KEY,
    season_id  TEXT REFERENCES seasons(id),
    weekday    INTEGER NOT NULL CHECK (weekday BETWEEN 1 AND 7),  -- 1 = Monday
    start_time TEXT NOT NULL,                                      -- HH:MM, centre time
    end_time   TEXT NOT NULL CHECK (end_time > start_time),
    room_id    TEXT NOT NULL REFERENCES rooms(id),
    coach_id   TEXT NOT NULL REFERENCES staff(id),
    group_id   TEXT NOT NULL REFERENCES class_groups(id),
    active     INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0,1)),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;
CREATE INDEX timetable_slots_day ON timetable_slots(weekday, active);

-- Holidays and closures: no sessions on these days.
CREATE TABLE closures (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    from_date  TEXT NOT NULL,
    to_date    TEXT NOT NULL CHECK (to_date >= from_date),
    created_at TEXT NOT NULL
) STRICT;

-- Dated sessions 日期课表. `origin_date` is the day the slot produced it for, so a
-- session moved to another day is still recognised on regeneration; `is_override`
-- marks one-off changes (moved, cancelled, substitute coach) that regeneration keeps.
CREATE TABLE class_sessions (
    id          TEXT PRIMARY KEY,
    slot_id     TEXT REFERENCES timetable_slots(id),
    origin_date TEXT,
    group_id    TEXT NOT NULL REFERENCES class_groups(id),
    date        TEXT NOT NULL,
    start_time  TEXT NOT NULL,
    end_time    TEXT NOT NULL CHECK (end_time > start_time),
    room_id     TEXT NOT NULL REFERENCES rooms(id),
    coach_id    TEXT NOT NULL REFERENCES staff(id),
    status      TEXT NOT NULL CHECK (status IN ('scheduled','cancelled')),
    is_override INTEGER NOT NULL DEFAULT 0 CHECK (is_override IN (0,1)),
    note        TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    UNIQUE (slot_id, origin_date)
) STRICT;
CREATE INDEX class_sessions_date ON class_sessions(date, start_time);
CREATE INDEX class_sessions_group ON class_sessions(group_id, date);

-- Roll call 点名. `contract_id` is the contract the lesson was taken from (or the term
-- contract that covered it); `consumed` says a lesson was deducted and must be given
-- back if the mark is undone.
CREATE TABLE attendance (
    id          TEXT PRIMARY KEY,
    session_id  TEXT NOT NULL REFERENCES class_sessions(id),
    member_id   TEXT NOT NULL REFERENCES members(id),
    mark        TEXT NOT NULL CHECK (mark IN ('present','late','absent','leave','trial','makeup')),
    contract_id TEXT REFERENCES contracts(id),
    consumed    INTEGER NOT NULL DEFAULT 0 CHECK (consumed IN (0,1)),
    no_contract INTEGER NOT NULL DEFAULT 0 CHECK (no_contract IN (0,1)),
    comment     TEXT NOT NULL DEFAULT '',
    marked_by   TEXT NOT NULL REFERENCES staff(id),
    marked_at   TEXT NOT NULL,
    UNIQUE (session_id, member_id)
) STRICT;
CREATE INDEX attendance_member ON attendance(member_id);

CREATE TABLE leave_requests (
    id         TEXT PRIMARY KEY,
    member_id  TEXT NOT NULL REFERENCES members(id),
    session_id TEXT NOT NULL REFERENCES class_sessions(id),
    asked_at   TEXT NOT NULL,
    asked_by   TEXT NOT NULL REFERENCES staff(id),
    via        TEXT NOT NULL DEFAULT 'desk' CHECK (via IN ('desk','phone','wechat','coach')),
    note       TEXT NOT NULL DEFAULT '',
    UNIQUE (member_id, session_id)
) STRICT;
CREATE INDEX leave_requests_session ON leave_requests(session_id);

CREATE TABLE trial_requests (
    id          TEXT PRIMARY KEY,
    session_id  TEXT NOT NULL REFERENCES class_sessions(id),
    lead_id     TEXT REFERENCES leads(id),
    member_id   TEXT REFERENCES members(id),
    status      TEXT NOT NULL CHECK (status IN ('requested','approved','declined')),
    attended    INTEGER NOT NULL DEFAULT 0 CHECK (attended IN (0,1)),
    note        TEXT NOT NULL DEFAULT '',
    requested_by TEXT NOT NULL REFERENCES staff(id),
    decided_by  TEXT REFERENCES staff(id),
    created_at  TEXT NOT NULL,
    decided_at  TEXT,
    CHECK ((lead_id IS NULL) <> (member_id IS NULL))
) STRICT;
CREATE INDEX trial_requests_session ON trial_requests(session_id);

-- Notices to parents, queued for delivery (delivery channels come later): arrival,
-- departure, coach comment, leave confirmed, trial approved/declined.
CREATE TABLE notices (
    id              TEXT PRIMARY KEY,
    kind            TEXT NOT NULL,
    member_id       TEXT REFERENCES members(id),
    lead_id         TEXT REFERENCES leads(id),
    guardian_id     TEXT REFERENCES guardians(id),
    recipient_name  TEXT NOT NULL,
    recipient_phone TEXT NOT NULL,
    session_id      TEXT REFERENCES class_sessions(id),
    text            TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued','sent','failed')),
    created_at      TEXT NOT NULL
) STRICT;
CREATE INDEX notices_status ON notices(status, created_at);

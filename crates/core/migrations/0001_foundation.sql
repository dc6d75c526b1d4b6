-- CentreDesk foundation schema. Migrations are append-only: never edit a released file,
-- add a new one. Instants are UTC text 'YYYY-MM-DDTHH:MM:SS.mmmZ'; business dates are
-- 'YYYY-MM-DD' in the centre's time zone; money is INTEGER fen; ids are UUIDv7 text.

-- The audit trail and the sync outbox. Written in the same transaction as the data.
CREATE TABLE change_log (
    seq        INTEGER PRIMARY KEY,            -- gap-free: max+1, rows are never deleted
    op_id      TEXT NOT NULL UNIQUE,           -- UUIDv7
    at         TEXT NOT NULL,
    staff_id   TEXT,                           -- who did it
    entity     TEXT NOT NULL,
    entity_id  TEXT NOT NULL,
    op         TEXT NOT NULL,
    subject_id TEXT,                           -- the member or lead whose timeline shows it
    payload    TEXT NOT NULL CHECK (json_valid(payload))
) STRICT;
CREATE INDEX change_log_subject ON change_log(subject_id, seq);
CREATE INDEX change_log_entity ON change_log(entity_id, seq);
CREATE INDEX change_log_staff ON change_log(staff_id, seq);
CREATE TRIGGER change_log_no_update BEFORE UPDATE ON change_log
BEGIN SELECT RAISE(ABORT, 'change_log is append-only'); END;
CREATE TRIGGER change_log_no_delete BEFORE DELETE ON change_log
BEGIN SELECT RAISE(ABORT, 'change_log is append-only'); END;

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

-- Local sequence numbers for human-facing numbers (member no., receipt no., contract no.).
CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) STRICT;

CREATE TABLE staff (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE COLLATE NOCASE,
    display_name  TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('manager','clerk','coach','consultant')),
    password_hash TEXT NOT NULL,
    active        INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0,1)),
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
) STRICT;

CREATE TABLE members (
    id          TEXT PRIMARY KEY,
    member_no   TEXT UNIQUE,                   -- assigned on approval
    name        TEXT NOT NULL,
    gender      TEXT NOT NULL CHECK (gender IN ('M','F')),
    birthday    TEXT,
    school      TEXT NOT NULL DEFAULT '',
    course_interest TEXT NOT NULL DEFAULT '',
    notes       TEXT NOT NULL DEFAULT '',
    tags        TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(tags)),
    rank        TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL CHECK (status IN ('applicant','active','paused','expired','left')),
    referred_by TEXT REFERENCES members(id),
    lead_id     TEXT,
    approved_at TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
) STRICT;
CREATE INDEX members_status ON members(status);

CREATE TABLE guardians (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    phone      TEXT NOT NULL,
    wechat     TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;
CREATE INDEX guardians_phone ON guardians(phone);

CREATE TABLE member_guardians (
    id          TEXT PRIMARY KEY,
    member_id   TEXT NOT NULL REFERENCES members(id),
    guardian_id TEXT NOT NULL REFERENCES guardians(id),
    relation    TEXT NOT NULL,
    is_primary  INTEGER NOT NULL DEFAULT 0 CHECK (is_primary IN (0,1)),
    created_at  TEXT NOT NULL,
    UNIQUE (member_id, guardian_id)
) STRICT;
CREATE INDEX member_guardians_guardian ON member_guardians(guardian_id);

CREATE TABLE leads (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    contact_name  TEXT NOT NULL DEFAULT '',
    phone         TEXT NOT NULL DEFAULT '',
    wechat        TEXT NOT NULL DEFAULT '',
    gender        TEXT CHECK (gender IN ('M','F')),
    birthday      TEXT,
    source        TEXT NOT NULL,
    consultant_id TEXT REFERENCES staff(id),
    man_money     INTEGER NOT NULL DEFAULT 0 CHECK (man_money IN (0,1)),
    man_authority INTEGER NOT NULL DEFAULT 0 CHECK (man_authority IN (0,1)),
    man_need      INTEGER NOT NULL DEFAULT 0 CHECK (man_need IN (0,1)),
    needs         TEXT NOT NULL DEFAULT '',
    notes         TEXT NOT NULL DEFAULT '',
    status        TEXT NOT NULL CHECK (status IN ('new','contacted','visit_booked','visited','trial','enrolled','lost')),
    lost_reason   TEXT NOT NULL DEFAULT '',
    next_follow_up TEXT,
    converted_member_id TEXT REFERENCES members(id),
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
) STRICT;
CREATE INDEX leads_follow_up ON leads(status, next_follow_up);
CREATE INDEX leads_consultant ON leads(consultant_id);

CREATE TABLE lead_follow_ups (
    id             TEXT PRIMARY KEY,
    lead_id        TEXT NOT NULL REFERENCES leads(id),
    staff_id       TEXT NOT NULL REFERENCES staff(id),
    at             TEXT NOT NULL,
    channel        TEXT NOT NULL CHECK (channel IN ('phone','wechat','visit','sms','other')),
    content        TEXT NOT NULL,
    next_follow_up TEXT
) STRICT;
CREATE INDEX lead_follow_ups_lead ON lead_follow_ups(lead_id, at);

CREATE TABLE packages (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('lessons','term')),
    lessons       INTEGER,                      -- lesson-count packages
    validity_days INTEGER,                      -- lesson-count packages: days to use them
    term_months   INTEGER,                      -- term packages: 1 / 3 / 12 …
    price         INTEGER NOT NULL CHECK (price >= 0),
    archived      INTEGER NOT NULL DEFAULT 0 CHECK (archived IN (0,1)),
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    CHECK ((kind = 'lessons' AND lessons > 0 AND validity_days > 0 AND term_months IS NULL)
        OR (kind = 'term' AND term_months > 0 AND lessons IS NULL AND validity_days IS NULL))
) STRICT;

CREATE TABLE contracts (
    id            TEXT PRIMARY KEY,
    contract_no   TEXT NOT NULL UNIQUE,
    member_id     TEXT NOT NULL REFERENCES members(id),
    package_id    TEXT NOT NULL REFERENCES packages(id),
    package_name  TEXT NOT NULL,                -- as sold
    kind          TEXT NOT NULL CHECK (kind IN ('lessons','term')),
    list_price    INTEGER NOT NULL CHECK (list_price >= 0),
    discount      INTEGER NOT NULL CHECK (discount >= 0 AND discount <= list_price),
    amount_due    INTEGER NOT NULL CHECK (amount_due = list_price - discount),
    consultant_id TEXT REFERENCES staff(id),
    start_date    TEXT NOT NULL,
    end_date      TEXT NOT NULL CHECK (end_date >= start_date),
    lessons_total INTEGER,
    lessons_used  INTEGER NOT NULL DEFAULT 0 CHECK (lessons_used >= 0),
    status        TEXT NOT NULL CHECK (status IN ('active','ended','refunded')),
    renewal_of    TEXT REFERENCES contracts(id),
    notes         TEXT NOT NULL DEFAULT '',
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    CHECK (lessons_total IS NULL OR lessons_used <= lessons_total)
) STRICT;
CREATE INDEX contracts_member ON contracts(member_id);
CREATE INDEX contracts_end ON contracts(status, end_date);

CREATE TABLE contract_pauses (
    id          TEXT PRIMARY KEY,
    contract_id TEXT NOT NULL REFERENCES contracts(id),
    from_date   TEXT NOT NULL,
    to_date     TEXT NOT NULL CHECK (to_date >= from_date),
    reason      TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL
) STRICT;
CREATE INDEX contract_pauses_contract ON contract_pauses(contract_id);

-- The money ledger. Append-only: a mistake is corrected by a reversing entry.
CREATE TABLE payments (
    id            TEXT PRIMARY KEY,
    receipt_no    TEXT NOT NULL UNIQUE,
    member_id     TEXT NOT NULL REFERENCES members(id),
    contract_id   TEXT REFERENCES contracts(id),
    kind          TEXT NOT NULL CHECK (kind IN ('payment','refund','reversal')),
    amount        INTEGER NOT NULL,             -- fen; negative for refunds and reversals
    method        TEXT NOT NULL CHECK (method IN ('cash','wechat','alipay','card','transfer')),
    reverses_id   TEXT UNIQUE REFERENCES payments(id),
    reason        TEXT NOT NULL DEFAULT '',
    staff_id      TEXT NOT NULL REFERENCES staff(id),
    taken_at      TEXT NOT NULL,
    business_date TEXT NOT NULL,
    CHECK ((kind = 'payment' AND amount > 0 AND reverses_id IS NULL)
        OR (kind = 'refund' AND amount < 0 AND reverses_id IS NULL)
        OR (kind = 'reversal' AND amount <> 0 AND reverses_id IS NOT NULL))
) STRICT;
CREATE INDEX payments_contract ON payments(contract_id);
CREATE INDEX payments_member ON payments(member_id);
CREATE INDEX payments_date ON payments(business_date);
CREATE TRIGGER payments_no_update BEFORE UPDATE ON payments
BEGIN SELECT RAISE(ABORT, 'payments are append-only: add a reversing entry'); END;
CREATE TRIGGER payments_no_delete BEFORE DELETE ON payments
BEGIN SELECT RAISE(ABORT, 'payments are append-only: add a reversing entry'); END;

-- Search: one document per member, guardian and lead. `terms` holds the name's Han
-- characters space-separated, full pinyin, syllables and initials (every reading of the
-- surname), phone digits and their last four, and the member number. unicode61 tokens
-- with prefix queries make "张", "zhangsan", "zs" and "5678" all hit.
CREATE TABLE search_doc (
    id        INTEGER PRIMARY KEY,
    entity    TEXT NOT NULL,
    entity_id TEXT NOT NULL UNIQUE,
    terms     TEXT NOT NULL
) STRICT;
CREATE VIRTUAL TABLE search_fts USING fts5(
    terms, content='search_doc', content_rowid='id',
    tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3'
);
CREATE TRIGGER search_doc_ai AFTER INSERT ON search_doc BEGIN
    INSERT INTO search_fts(rowid, terms) VALUES (new.id, new.terms);
END;
CREATE TRIGGER search_doc_ad AFTER DELETE ON search_doc BEGIN
    INSERT INTO search_fts(search_fts, rowid, terms) VALUES ('delete', old.id, old.terms);
END;
CREATE TRIGGER search_doc_au AFTER UPDATE ON search_doc BEGIN
    INSERT INTO search_fts(search_fts, rowid, terms) VALUES ('delete', old.id, old.terms);
    INSERT INTO search_fts(rowid, terms) VALUES (new.id, new.terms);
END;

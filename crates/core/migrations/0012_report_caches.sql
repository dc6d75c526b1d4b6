-- Report caches: small derived tables that the report screens read instead of
-- re-aggregating millions of rows on every opening (README, Performance: at 100,000
-- members over five years the attendance report took 7–15 s, revenue by month 1.5 s).
-- Triggers keep them in step with their source rows inside the same transaction, so
-- every write path (roll call, undo, merge, bulk import) is covered without any Rust
-- code remembering to. They are functions of synced rows: never synced, never in the
-- change log, rebuilt here from what exists. tests/report_caches.rs checks them against
-- a recomputation after random writes.

-- Marks per class session (attendance by class group and coach).
CREATE TABLE session_marks (
    session_id TEXT PRIMARY KEY,
    present    INTEGER NOT NULL DEFAULT 0,
    late       INTEGER NOT NULL DEFAULT 0,
    absent     INTEGER NOT NULL DEFAULT 0,
    leave      INTEGER NOT NULL DEFAULT 0,
    makeup     INTEGER NOT NULL DEFAULT 0,
    trial      INTEGER NOT NULL DEFAULT 0
) STRICT, WITHOUT ROWID;

INSERT INTO session_marks (session_id, present, late, absent, leave, makeup, trial)
SELECT session_id, SUM(mark = 'present'), SUM(mark = 'late'), SUM(mark = 'absent'), SUM(mark = 'leave'), SUM(mark = 'makeup'), SUM(mark = 'trial')
FROM attendance GROUP BY session_id;

CREATE TRIGGER session_marks_insert AFTER INSERT ON attendance BEGIN
    INSERT INTO session_marks (session_id, present, late, absent, leave, makeup, trial)
    VALUES (NEW.session_id, NEW.mark = 'present', NEW.mark = 'late', NEW.mark = 'absent', NEW.mark = 'leave', NEW.mark = 'makeup', NEW.mark = 'trial')
    ON CONFLICT (session_id) DO UPDATE SET present = present + excluded.present, late = late + excluded.late, absent = absent + excluded.absent,
        leave = leave + excluded.leave, makeup = makeup + excluded.makeup, trial = trial + excluded.trial;
END;

CREATE TRIGGER session_marks_delete AFTER DELETE ON attendance BEGIN
    UPDATE session_marks SET present = present - (OLD.mark = 'present'), late = late - (OLD.mark = 'late'), absent = absent - (OLD.mark = 'absent'),
        leave = leave - (OLD.mark = 'leave'), makeup = makeup - (OLD.mark = 'makeup'), trial = trial - (OLD.mark = 'trial')
    WHERE session_id = OLD.session_id;
END;

CREATE TRIGGER session_marks_update AFTER UPDATE OF session_id, mark ON attendance BEGIN
    UPDATE session_marks SET present = present - (OLD.mark = 'present'), late = late - (OLD.mark = 'late'), absent = absent - (OLD.mark = 'absent'),
        leave = leave - (OLD.mark = 'leave'), makeup = makeup - (OLD.mark = 'makeup'), trial = trial - (OLD.mark = 'trial')
    WHERE session_id = OLD.session_id;
    INSERT INTO session_marks (session_id, present, late, absent, leave, makeup, trial)
    VALUES (NEW.session_id, NEW.mark = 'present', NEW.mark = 'late', NEW.mark = 'absent', NEW.mark = 'leave', NEW.mark = 'makeup', NEW.mark = 'trial')
    ON CONFLICT (session_id) DO UPDATE SET present = present + excluded.present, late = late + excluded.late, absent = absent + excluded.absent,
        leave = leave + excluded.leave, makeup = makeup + excluded.makeup, trial = trial + excluded.trial;
END;

-- Each member's last lesson attended (present, late or make-up): "stopped coming" and the
-- win-back list. Adding a mark can only move it later; removing or moving one recomputes
-- that member from his own marks (a few dozen rows), and only when it could matter.
CREATE TABLE member_attended (
    member_id TEXT PRIMARY KEY,
    last_date TEXT NOT NULL
) STRICT, WITHOUT ROWID;

INSERT INTO member_attended (member_id, last_date)
SELECT a.member_id, MAX(s.date) FROM attendance a JOIN class_sessions s ON s.id = a.session_id
WHERE a.mark IN ('present','late','makeup') GROUP BY a.member_id;

CREATE TRIGGER member_attended_insert AFTER INSERT ON attendance WHEN NEW.mark IN ('present','late','makeup') BEGIN
    INSERT INTO member_attended (member_id, last_date)
    SELECT NEW.member_id, s.date FROM class_sessions s WHERE s.id = NEW.session_id
    ON CONFLICT (member_id) DO UPDATE SET last_date = MAX(last_date, excluded.last_date);
END;

CREATE TRIGGER member_attended_delete AFTER DELETE ON attendance
WHEN OLD.mark IN ('present','late','makeup')
 AND (SELECT date FROM class_sessions WHERE id = OLD.session_id) >= (SELECT last_date FROM member_attended WHERE member_id = OLD.member_id)
BEGIN
    DELETE FROM member_attended WHERE member_id = OLD.member_id;
    INSERT INTO member_attended (member_id, last_date)
    SELECT a.member_id, MAX(s.date) FROM attendance a JOIN class_sessions s ON s.id = a.session_id
    WHERE a.member_id = OLD.member_id AND a.mark IN ('present','late','makeup') GROUP BY a.member_id;
END;

CREATE TRIGGER member_attended_update AFTER UPDATE OF member_id, session_id, mark ON attendance BEGIN
    DELETE FROM member_attended WHERE member_id IN (OLD.member_id, NEW.member_id);
    INSERT INTO member_attended (member_id, last_date)
    SELECT a.member_id, MAX(s.date) FROM attendance a JOIN class_sessions s ON s.id = a.session_id
    WHERE a.member_id IN (OLD.member_id, NEW.member_id) AND a.mark IN ('present','late','makeup') GROUP BY a.member_id;
END;

-- Each contract's last lesson consumed: the month a used-up lesson package ended (the
-- renewal rate).
CREATE TABLE contract_consumed (
    contract_id TEXT PRIMARY KEY,
    last_date   TEXT NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX contract_consumed_date ON contract_consumed(last_date);

INSERT INTO contract_consumed (contract_id, last_date)
SELECT a.contract_id, MAX(s.date) FROM attendance a JOIN class_sessions s ON s.id = a.session_id
WHERE a.contract_id IS NOT NULL AND a.consumed = 1 GROUP BY a.contract_id;

CREATE TRIGGER contract_consumed_insert AFTER INSERT ON attendance WHEN NEW.contract_id IS NOT NULL AND NEW.consumed = 1 BEGIN
    INSERT INTO contract_consumed (contract_id, last_date)
    SELECT NEW.contract_id, s.date FROM class_sessions s WHERE s.id = NEW.session_id
    ON CONFLICT (contract_id) DO UPDATE SET last_date = MAX(last_date, excluded.last_date);
END;

CREATE TRIGGER contract_consumed_delete AFTER DELETE ON attendance
WHEN OLD.contract_id IS NOT NULL AND OLD.consumed = 1
 AND (SELECT date FROM class_sessions WHERE id = OLD.session_id) >= (SELECT last_date FROM contract_consumed WHERE contract_id = OLD.contract_id)
BEGIN
    DELETE FROM contract_consumed WHERE contract_id = OLD.contract_id;
    INSERT INTO contract_consumed (contract_id, last_date)
    SELECT a.contract_id, MAX(s.date) FROM attendance a JOIN class_sessions s ON s.id = a.session_id
    WHERE a.contract_id = OLD.contract_id AND a.consumed = 1 GROUP BY a.contract_id;
END;

CREATE TRIGGER contract_consumed_update AFTER UPDATE OF contract_id, consumed, session_id ON attendance BEGIN
    DELETE FROM contract_consumed WHERE contract_id IN (OLD.contract_id, NEW.contract_id);
    INSERT INTO contract_consumed (contract_id, last_date)
    SELECT a.contract_id, MAX(s.date) FROM attendance a JOIN class_sessions s ON s.id = a.session_id
    WHERE a.contract_id IN (OLD.contract_id, NEW.contract_id) AND a.consumed = 1 GROUP BY a.contract_id;
END;

-- A session moved to another day moves its marks' dates.
CREATE TRIGGER report_caches_session_moved AFTER UPDATE OF date ON class_sessions WHEN OLD.date <> NEW.date BEGIN
    DELETE FROM member_attended WHERE member_id IN (SELECT member_id FROM attendance WHERE session_id = NEW.id);
    INSERT INTO member_attended (member_id, last_date)
    SELECT a.member_id, MAX(s.date) FROM attendance a JOIN class_sessions s ON s.id = a.session_id
    WHERE a.member_id IN (SELECT member_id FROM attendance WHERE session_id = NEW.id) AND a.mark IN ('present','late','makeup') GROUP BY a.member_id;
    DELETE FROM contract_consumed WHERE contract_id IN (SELECT contract_id FROM attendance WHERE session_id = NEW.id);
    INSERT INTO contract_consumed (contract_id, last_date)
    SELECT a.contract_id, MAX(s.date) FROM attendance a JOIN class_sessions s ON s.id = a.session_id
    WHERE a.contract_id IN (SELECT contract_id FROM attendance WHERE session_id = NEW.id) AND a.consumed = 1 GROUP BY a.contract_id;
END;

-- The ledger summed per business day, method, package and consultant (the revenue
-- report). Payments are append-only and a contract's package and consultant never change,
-- so an insert trigger is all it takes.
CREATE TABLE payment_days (
    business_date TEXT NOT NULL,
    consultant_id TEXT NOT NULL,   -- '' when the entry has no contract or no consultant
    method        TEXT NOT NULL,
    package_name  TEXT NOT NULL,   -- '' when the entry has no contract
    received      INTEGER NOT NULL,
    refunded      INTEGER NOT NULL,
    reversed      INTEGER NOT NULL,
    entries       INTEGER NOT NULL,
    PRIMARY KEY (business_date, consultant_id, method, package_name)
) STRICT, WITHOUT ROWID;

INSERT INTO payment_days (business_date, consultant_id, method, package_name, received, refunded, reversed, entries)
SELECT p.business_date, COALESCE(k.consultant_id, ''), p.method, COALESCE(k.package_name, ''),
    SUM(CASE WHEN p.kind = 'payment' THEN p.amount ELSE 0 END), SUM(CASE WHEN p.kind = 'refund' THEN p.amount ELSE 0 END),
    SUM(CASE WHEN p.kind = 'reversal' THEN p.amount ELSE 0 END), COUNT(*)
FROM payments p LEFT JOIN contracts k ON k.id = p.contract_id
GROUP BY 1, 2, 3, 4;

CREATE TRIGGER payment_days_insert AFTER INSERT ON payments BEGIN
    INSERT INTO payment_days (business_date, consultant_id, method, package_name, received, refunded, reversed, entries)
    SELECT NEW.business_date, COALESCE(k.consultant_id, ''), NEW.method, COALESCE(k.package_name, ''),
        CASE WHEN NEW.kind = 'payment' THEN NEW.amount ELSE 0 END, CASE WHEN NEW.kind = 'refund' THEN NEW.amount ELSE 0 END,
        CASE WHEN NEW.kind = 'reversal' THEN NEW.amount ELSE 0 END, 1
    FROM (SELECT NEW.contract_id AS contract_id) x LEFT JOIN contracts k ON k.id = x.contract_id WHERE true
    ON CONFLICT (business_date, consultant_id, method, package_name) DO UPDATE SET received = received + excluded.received,
        refunded = refunded + excluded.refunded, reversed = reversed + excluded.reversed, entries = entries + excluded.entries;
END;

-- Lifetime totals per member straight from the ledger (customer value, the win-back list);
-- a member merged into another is summed into the survivor by the reports.
CREATE TABLE member_spend (
    member_id  TEXT PRIMARY KEY,
    spent      INTEGER NOT NULL,   -- fen, every entry: payments less refunds and reversals
    payments   INTEGER NOT NULL,   -- entries of kind payment
    first_date TEXT NOT NULL,
    last_date  TEXT NOT NULL
) STRICT, WITHOUT ROWID;

INSERT INTO member_spend (member_id, spent, payments, first_date, last_date)
SELECT member_id, SUM(amount), SUM(kind = 'payment'), MIN(business_date), MAX(business_date) FROM payments GROUP BY member_id;

CREATE TRIGGER member_spend_insert AFTER INSERT ON payments BEGIN
    INSERT INTO member_spend (member_id, spent, payments, first_date, last_date)
    VALUES (NEW.member_id, NEW.amount, NEW.kind = 'payment', NEW.business_date, NEW.business_date)
    ON CONFLICT (member_id) DO UPDATE SET spent = spent + excluded.spent, payments = payments + excluded.payments,
        first_date = MIN(first_date, excluded.first_date), last_date = MAX(last_date, excluded.last_date);
END;

-- The last year's RFM reads payments by day without touching the table.
CREATE INDEX payments_date_member ON payments(business_date, member_id, kind, amount);
DROP INDEX payments_date;

-- The change log counted per UTC hour, staff member, entity and op (the staff activity
-- summary); a period's partial first and last hours are counted from the log itself.
CREATE TABLE activity_hours (
    hour     TEXT NOT NULL,      -- substr(at, 1, 13): '2026-11-25T09'
    staff_id TEXT NOT NULL,      -- '' for changes made by no one (the system)
    entity   TEXT NOT NULL,
    op       TEXT NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (hour, staff_id, entity, op)
) STRICT, WITHOUT ROWID;

INSERT INTO activity_hours (hour, staff_id, entity, op, n)
SELECT substr(at, 1, 13), COALESCE(staff_id, ''), entity, op, COUNT(*) FROM change_log GROUP BY 1, 2, 3, 4;

CREATE TRIGGER activity_hours_insert AFTER INSERT ON change_log BEGIN
    INSERT INTO activity_hours (hour, staff_id, entity, op, n)
    VALUES (substr(NEW.at, 1, 13), COALESCE(NEW.staff_id, ''), NEW.entity, NEW.op, 1)
    ON CONFLICT (hour, staff_id, entity, op) DO UPDATE SET n = n + 1;
END;

-- The furthest stage each lead ever reached (new 0 … enrolled 5; lost and others -1), so
-- the sales funnel counts a lost lead for the stages it passed without reading its
-- history from the change log. Every status change is an update of `leads`.
CREATE TABLE lead_reach (
    lead_id TEXT PRIMARY KEY,
    stage   INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

INSERT INTO lead_reach (lead_id, stage)
SELECT l.id, MAX(
    CASE l.status WHEN 'new' THEN 0 WHEN 'contacted' THEN 1 WHEN 'visit_booked' THEN 2 WHEN 'visited' THEN 3 WHEN 'trial' THEN 4 WHEN 'enrolled' THEN 5 ELSE -1 END,
    COALESCE((SELECT MAX(CASE json_extract(cl.payload, '$.data.status') WHEN 'new' THEN 0 WHEN 'contacted' THEN 1 WHEN 'visit_booked' THEN 2 WHEN 'visited' THEN 3
                                WHEN 'trial' THEN 4 WHEN 'enrolled' THEN 5 ELSE -1 END)
              FROM change_log cl WHERE cl.entity_id = l.id AND cl.entity = 'lead'), -1))
FROM leads l;

CREATE TRIGGER lead_reach_insert AFTER INSERT ON leads BEGIN
    INSERT INTO lead_reach (lead_id, stage)
    VALUES (NEW.id, CASE NEW.status WHEN 'new' THEN 0 WHEN 'contacted' THEN 1 WHEN 'visit_booked' THEN 2 WHEN 'visited' THEN 3 WHEN 'trial' THEN 4 WHEN 'enrolled' THEN 5 ELSE -1 END)
    ON CONFLICT (lead_id) DO UPDATE SET stage = MAX(stage, excluded.stage);
END;

CREATE TRIGGER lead_reach_update AFTER UPDATE OF status ON leads BEGIN
    INSERT INTO lead_reach (lead_id, stage)
    VALUES (NEW.id, CASE NEW.status WHEN 'new' THEN 0 WHEN 'contacted' THEN 1 WHEN 'visit_booked' THEN 2 WHEN 'visited' THEN 3 WHEN 'trial' THEN 4 WHEN 'enrolled' THEN 5 ELSE -1 END)
    ON CONFLICT (lead_id) DO UPDATE SET stage = MAX(stage, excluded.stage);
END;

-- Whether a lead came to a trial lesson (the funnel's trial stage).
CREATE INDEX trial_requests_lead ON trial_requests(lead_id, attended);

-- Attendance by member reads each mark of the period's sessions from the index alone.
CREATE INDEX attendance_session_member ON attendance(session_id, member_id, mark);

-- Contracts by status and end date, carrying what the renewal reports test (kind,
-- lessons, start) so they read the period's contracts from the index alone; it replaces
-- the narrower contracts_end. Never add member_id: the index would then cover the
-- one-member lookups (roll call, stopped coming) and, without statistics, SQLite picks it
-- over contracts_member_status and reads every running contract per member.
CREATE INDEX contracts_status_end ON contracts(status, end_date, kind, lessons_total, lessons_used, start_date, id);
DROP INDEX contracts_end;

-- A member's contracts carry what "has a valid contract today" tests (start, kind,
-- lessons), so roll call and the stopped-coming list answer it from the index alone.
DROP INDEX contracts_member_status;
CREATE INDEX contracts_member_status ON contracts(member_id, status, end_date, start_date, kind, lessons_total, lessons_used);

-- Report caches, second part (see 0012 for the rules: derived rows kept by triggers in
-- the writing transaction, never synced, never logged; tests/report_caches.rs checks
-- each against a recomputation).

-- When each contract ends and whether it was renewed: the renewal rate per month reads
-- a year of these off one index instead of probing every contract's last lesson and
-- renewal. A contract ends on its end date, or on its last lesson when a lesson package
-- was used up before it; a refunded contract has no row (it never "ended" to be renewed).
CREATE TABLE contract_ends (
    contract_id TEXT PRIMARY KEY,
    ended_on    TEXT NOT NULL,
    renewed     INTEGER NOT NULL   -- 1 when another contract names it in renewal_of
) STRICT, WITHOUT ROWID;
CREATE INDEX contract_ends_date ON contract_ends(ended_on, renewed);

INSERT INTO contract_ends (contract_id, ended_on, renewed)
SELECT k.id,
    CASE WHEN k.kind = 'lessons' AND k.lessons_used >= k.lessons_total AND u.last_date < k.end_date THEN u.last_date ELSE k.end_date END,
    EXISTS (SELECT 1 FROM contracts r WHERE r.renewal_of = k.id)
FROM contracts k LEFT JOIN contract_consumed u ON u.contract_id = k.id
WHERE k.status <> 'refunded';

-- The triggers on contracts recompute the whole row of each contract they touch with
-- the statement above, so the row cannot drift from its definition; those on
-- contract_consumed only move the end of a used-up package to its new last lesson.
CREATE TRIGGER contract_ends_insert AFTER INSERT ON contracts BEGIN
    DELETE FROM contract_ends WHERE contract_id IN (NEW.id, NEW.renewal_of);
    INSERT INTO contract_ends (contract_id, ended_on, renewed)
    SELECT k.id,
        CASE WHEN k.kind = 'lessons' AND k.lessons_used >= k.lessons_total AND u.last_date < k.end_date THEN u.last_date ELSE k.end_date END,
        EXISTS (SELECT 1 FROM contracts r WHERE r.renewal_of = k.id)
    FROM contracts k LEFT JOIN contract_consumed u ON u.contract_id = k.id
    WHERE k.id IN (NEW.id, NEW.renewal_of) AND k.status <> 'refunded';
END;

-- Only what the row depends on; a lesson deducted matters only when it uses the package
-- up (or a correction un-uses it), so a roll call does not rewrite a row per child.
CREATE TRIGGER contract_ends_update AFTER UPDATE ON contracts
WHEN OLD.status IS NOT NEW.status OR OLD.end_date IS NOT NEW.end_date OR OLD.kind IS NOT NEW.kind
  OR (OLD.lessons_used >= OLD.lessons_total) IS NOT (NEW.lessons_used >= NEW.lessons_total)
  OR OLD.renewal_of IS NOT NEW.renewal_of OR OLD.id IS NOT NEW.id
BEGIN
    DELETE FROM contract_ends WHERE contract_id IN (OLD.id, NEW.id, OLD.renewal_of, NEW.renewal_of);
    INSERT INTO contract_ends (contract_id, ended_on, renewed)
    SELECT k.id,
        CASE WHEN k.kind = 'lessons' AND k.lessons_used >= k.lessons_total AND u.last_date < k.end_date THEN u.last_date ELSE k.end_date END,
        EXISTS (SELECT 1 FROM contracts r WHERE r.renewal_of = k.id)
    FROM contracts k LEFT JOIN contract_consumed u ON u.contract_id = k.id
    WHERE k.id IN (NEW.id, OLD.renewal_of, NEW.renewal_of) AND k.status <> 'refunded';
END;

CREATE TRIGGER contract_ends_delete AFTER DELETE ON contracts BEGIN
    DELETE FROM contract_ends WHERE contract_id IN (OLD.id, OLD.renewal_of);
    INSERT INTO contract_ends (contract_id, ended_on, renewed)
    SELECT k.id,
        CASE WHEN k.kind = 'lessons' AND k.lessons_used >= k.lessons_total AND u.last_date < k.end_date THEN u.last_date ELSE k.end_date END,
        EXISTS (SELECT 1 FROM contracts r WHERE r.renewal_of = k.id)
    FROM contracts k LEFT JOIN contract_consumed u ON u.contract_id = k.id
    WHERE k.id = OLD.renewal_of AND k.status <> 'refunded';
END;

-- The last lesson matters only for a used-up lesson package.
CREATE TRIGGER contract_ends_consumed_insert AFTER INSERT ON contract_consumed
WHEN EXISTS (SELECT 1 FROM contracts k WHERE k.id = NEW.contract_id AND k.kind = 'lessons' AND k.lessons_used >= k.lessons_total)
BEGIN
    UPDATE contract_ends SET ended_on = (SELECT CASE WHEN NEW.last_date < k.end_date THEN NEW.last_date ELSE k.end_date END FROM contracts k WHERE k.id = NEW.contract_id)
    WHERE contract_id = NEW.contract_id;
END;

CREATE TRIGGER contract_ends_consumed_update AFTER UPDATE ON contract_consumed
WHEN EXISTS (SELECT 1 FROM contracts k WHERE k.id = NEW.contract_id AND k.kind = 'lessons' AND k.lessons_used >= k.lessons_total)
BEGIN
    UPDATE contract_ends SET ended_on = (SELECT CASE WHEN NEW.last_date < k.end_date THEN NEW.last_date ELSE k.end_date END FROM contracts k WHERE k.id = NEW.contract_id)
    WHERE contract_id = NEW.contract_id;
END;

CREATE TRIGGER contract_ends_consumed_delete AFTER DELETE ON contract_consumed
WHEN EXISTS (SELECT 1 FROM contracts k WHERE k.id = OLD.contract_id AND k.kind = 'lessons' AND k.lessons_used >= k.lessons_total)
BEGIN
    UPDATE contract_ends SET ended_on = (SELECT end_date FROM contracts WHERE id = OLD.contract_id) WHERE contract_id = OLD.contract_id;
END;

-- The sales report: the period's leads and follow-ups by when they were made (an instant
-- whose text begins with its UTC date), so a year is a range instead of a scan.
CREATE INDEX leads_created ON leads(created_at);
CREATE INDEX lead_follow_ups_at ON lead_follow_ups(at, staff_id);

-- Customer value: members by lifetime spend, most first, without sorting 100,000 rows.
CREATE INDEX member_spend_spent ON member_spend(spent DESC, member_id);

-- Attendance: who stopped coming walks the active members off this narrow index
-- instead of the members table.
CREATE INDEX members_status_label ON members(status, id, name, member_no);

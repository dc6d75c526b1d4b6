-- Indexes for the manager's reports and the home screen, found with
-- `centredesk bench reports` (a 100,000-member, five-year centre; README, Performance).
-- Indexes only: no table, row or result changes.

-- A member's contracts by status and end date: "does this member hold a valid contract
-- today" (stopped coming, win-back list, roll call's lesson rule) was answered by walking
-- every active contract of the centre per member (contracts_end), seconds at 20,000
-- members. It leads with member_id, so it also does contracts_member's work.
CREATE INDEX contracts_member_status ON contracts(member_id, status, end_date);
DROP INDEX contracts_member;

-- "Has this contract been renewed" (renewals due, renewal rate, the home screen).
CREATE INDEX contracts_renewal_of ON contracts(renewal_of) WHERE renewal_of IS NOT NULL;

-- The lessons taken from a contract (renewal rate: the month a lesson package was used
-- up), without reading the attendance rows; without it every used-up package scanned
-- the whole attendance table.
CREATE INDEX attendance_contract ON attendance(contract_id, consumed, session_id) WHERE contract_id IS NOT NULL;

-- A member's marks with their sessions (last lesson attended, stopped coming), without
-- reading the attendance rows. Leads with member_id, so it replaces attendance_member.
CREATE INDEX attendance_member_mark ON attendance(member_id, mark, session_id);
DROP INDEX attendance_member;

-- A session's date by id without reading the row (the date checks of the above).
CREATE INDEX class_sessions_id_date ON class_sessions(id, date);

-- Staff activity: the change log by time, covering the per-staff counts.
CREATE INDEX change_log_at ON change_log(at, staff_id, entity, op);

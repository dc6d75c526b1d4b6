"""What the desk says is true, in the real app (issue 14's five findings):

1. A child already marked at a class cannot be given leave for it: the leave dialog shows
   the class as marked, and the core refuses it with the mark and the lesson named.
2. A roll call long before a class asks first, and the family is told the class was
   attended — not a made-up arrival time.
3. Contract badges follow the one rule: an ended or used-up contract never shows 有效.
4. The home screen's renewals and the report's are the same list, with the rule in words.
5. Who owes money: the home panel and the members list's filter, the total = the ledger.

Screens are taken in Chinese and in English."""

import datetime
from decimal import Decimal

from conftest import centre_today
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.support.ui import WebDriverWait


def wait(app, timeout=10):
    return WebDriverWait(app.driver, timeout, ignored_exceptions=[StaleElementReferenceException])


def both_languages(app, label):
    app.shot(f"{label}-zh")
    app.click("lang-switch")
    wait(app).until(lambda d: d.find_element("css selector", "html").get_attribute("lang") == "en")
    app.shot(f"{label}-en")
    app.click("lang-switch")
    wait(app).until(lambda d: d.find_element("css selector", "html").get_attribute("lang") == "zh-CN")


def expected_state(kind, status, start, end, total, used, today):
    """The rule of contracts::state_on, written again (pauses aside)."""
    if status == "refunded":
        return "refunded"
    if kind == "lessons" and used >= total:
        return "used_up"
    if today > end:
        return "expired"
    if today < start:
        return "not_started"
    return "valid"


def test_leave_after_a_mark_is_refused_and_an_early_roll_call_says_attended(app):
    today = centre_today()
    # A child on the roll of the next class of their group, with lessons left.
    (session_id, date, start, member_id, name), = app.sql(
        """SELECT s.id, s.date, s.start_time, m.id, m.name FROM class_sessions s
           JOIN group_members gm ON gm.group_id = s.group_id AND gm.end_date IS NULL
           JOIN members m ON m.id = gm.member_id AND m.status = 'active'
           JOIN contracts k ON k.member_id = m.id AND k.status = 'active' AND k.kind = 'lessons'
                AND k.lessons_used < k.lessons_total AND k.start_date <= s.date AND k.end_date >= s.date
           WHERE s.date >= ? AND s.status = 'scheduled' AND NOT EXISTS (SELECT 1 FROM attendance a WHERE a.session_id = s.id)
             -- the lessons contract is the one the mark is charged to: the desk charges the
             -- valid contract ending first, and a time card ending first takes no lesson.
             AND NOT EXISTS (SELECT 1 FROM contracts o WHERE o.member_id = m.id AND o.status = 'active' AND o.id <> k.id
                             AND o.start_date <= s.date AND o.end_date >= s.date AND o.end_date <= k.end_date)
           ORDER BY s.date, s.start_time, m.member_no LIMIT 1""",
        (today + datetime.timedelta(days=1)).isoformat(),
    )
    app.login("qiantai")
    # The class is tomorrow or later: marking now is refused unless the desk confirms.
    mark = {"member_id": member_id, "mark": "present", "comment": ""}
    refused = app.invoke("roll_call", {"sessionId": session_id, "input": {"marks": [mark], "trials": []}})
    assert refused.get("err", {}).get("code") == "conflict.not_started_yet", refused
    assert start in refused["err"]["message"], refused
    app.call("roll_call", {"sessionId": session_id, "input": {"marks": [mark], "trials": [], "confirm_early": True}})
    # The family was told the class was attended, with no arrival time that was not true.
    texts = [t for (t,) in app.sql("SELECT text FROM notices WHERE member_id = ? AND session_id = ? AND kind IN ('arrival', 'attended')", member_id, session_id)]
    assert texts and all("已出勤" in t and "到馆" not in t for t in texts), texts

    # Leave for that class: the member page's dialog shows it marked, the core refuses it.
    app.driver.execute_script("window.scrollTo(0, 0)")
    app.type("search-input", name)
    wait(app).until(lambda d: any(r.get_attribute("data-id") == member_id for r in app.all("search-result")))
    next(r for r in app.all("search-result") if r.get_attribute("data-id") == member_id).click()
    app.wait_text("member-title", lambda t: name in t)
    app.click("leave-open")
    app.el("leave-dialog")
    marked = wait(app).until(lambda d: app.all("leave-marked") or None)
    assert any("出勤" in m.text and "1" in m.text for m in marked), [m.text for m in marked]
    app.shot("leave-marked-zh")
    # The same in English (the header is behind the dialog: close, switch, open again).
    app.click("dialog-close")
    app.gone("leave-dialog")
    app.click("lang-switch")
    wait(app).until(lambda d: d.find_element("css selector", "html").get_attribute("lang") == "en")
    app.click("leave-open")
    wait(app).until(lambda d: app.all("leave-marked") or None)
    app.shot("leave-marked-en")
    app.click("dialog-close")
    app.gone("leave-dialog")
    app.click("lang-switch")
    refused = app.invoke("leave_request", {"input": {"member_id": member_id, "session_ids": [session_id], "via": "phone", "note": ""}})
    assert refused["err"]["code"] == "conflict.already_marked", refused
    assert refused["err"]["message"] == "该课已点名：出勤，已扣 1 课时，不能再请假", refused
    (leaves,), = app.sql("SELECT COUNT(*) FROM leave_requests WHERE member_id = ? AND session_id = ?", member_id, session_id)
    assert leaves == 0


def test_contract_badges_follow_the_one_rule(app):
    today = centre_today().isoformat()
    # A member with an ended or used-up contract and a running one, if the demo has one;
    # else any member with an ended contract.
    (member_id, name), = app.sql(
        """SELECT m.id, m.name FROM members m WHERE m.merged_into IS NULL AND EXISTS (
              SELECT 1 FROM contracts k WHERE k.member_id = m.id AND k.status <> 'refunded'
              AND (k.end_date < ?1 OR (k.kind = 'lessons' AND k.lessons_used >= k.lessons_total)))
           ORDER BY EXISTS (SELECT 1 FROM contracts k WHERE k.member_id = m.id AND k.end_date >= ?1 AND k.status = 'active') DESC, m.member_no
           LIMIT 1""",
        today,
    )
    app.login("qiantai")
    app.type("search-input", name)
    wait(app).until(lambda d: any(r.get_attribute("data-id") == member_id for r in app.all("search-result")))
    next(r for r in app.all("search-result") if r.get_attribute("data-id") == member_id).click()
    app.wait_text("member-title", lambda t: name in t)
    rows = wait(app).until(lambda d: app.all("contract-row") or None)
    shown = {r.get_attribute("data-contract"): r.get_attribute("data-state") for r in rows}
    paused = {k for (k,) in app.sql("SELECT contract_id FROM contract_pauses WHERE from_date <= ?1 AND to_date >= ?1", today)}
    for k, kind, status, start, end, total, used in app.sql(
        "SELECT id, kind, status, start_date, end_date, lessons_total, lessons_used FROM contracts WHERE member_id = ?", member_id
    ):
        want = expected_state(kind, status, start, end, total, used, today)
        if want == "valid" and k in paused:
            want = "paused"
        assert shown[k] == want, (k, shown[k], want)
    assert any(s in ("expired", "used_up") for s in shown.values()), shown
    assert all(r.get_attribute("data-state") != "valid" or "有效" in r.text for r in rows)
    both_languages(app, "contract-states")


def test_home_renewals_equal_the_report_and_arrears_equal_the_ledger(app):
    app.login("admin")
    app.click("nav-home")
    rule = app.text_of("home-renewals-rule")
    assert "30 天内到期或剩余课时 ≤ 3" in rule, rule
    home = wait(app, 20).until(lambda d: [r.get_attribute("data-member") for r in app.all("home-renewal")] or None)

    # Who owes money: the panel's total is the ledger's Σ(due − paid), to the fen.
    (owed,), = app.sql(
        """SELECT COALESCE(SUM(d), 0) FROM (SELECT k.amount_due - COALESCE((SELECT SUM(p.amount) FROM payments p
             WHERE p.contract_id = k.id AND p.kind <> 'refund'), 0) AS d FROM contracts k WHERE k.status <> 'refunded') WHERE d > 0"""
    )
    total = app.el("home-arrears-total").get_attribute("data-total")
    assert Decimal(total) == Decimal(owed) / 100, (total, owed)
    owing = {m for (m,) in app.sql(
        """SELECT DISTINCT k.member_id FROM contracts k WHERE k.status <> 'refunded' AND k.amount_due >
             COALESCE((SELECT SUM(p.amount) FROM payments p WHERE p.contract_id = k.id AND p.kind <> 'refund'), 0)"""
    )}
    assert {r.get_attribute("data-member") for r in app.all("home-arrear")} == owing
    both_languages(app, "home-renewals-arrears")

    # The report's list of renewals due is the home screen's, in the same order.
    app.click("nav-reports")
    app.click("report-tab-renewals")
    table = app.el("an-table-due", timeout=20)
    report = [r.get_attribute("data-member") for r in table.find_elements("css selector", '[data-testid="an-row"]')]
    assert report == home, (report, home)

    # The members list's filter lists exactly the members who owe.
    app.click("nav-members")
    app.el("members-owing").click()
    wait(app).until(lambda d: {r.get_attribute("data-id") for r in app.all("member-row")} == owing)
    app.shot("members-owing")
    # And the report of arrears, with its CSV.
    app.click("nav-reports")
    app.click("report-tab-arrears")
    rows = app.el("an-table-owing", timeout=20).find_elements("css selector", '[data-testid="an-row"]')
    assert {r.get_attribute("data-member") for r in rows} == owing
    app.shot("report-arrears")

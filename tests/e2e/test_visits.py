"""Return visits 回访: the clerk finds the families to call on the home screen (today,
this week, overdue), opens one, logs the call from the keyboard with the family's mood
and a CSAT score, and the visit leaves the list; the manager sees everyone's visits and
the rules in Settings. Chinese and English screenshots at 1366×768."""

import datetime

from conftest import centre_today
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait


def wait(app, timeout=10):
    return WebDriverWait(app.driver, timeout, ignored_exceptions=[StaleElementReferenceException])


def shown_members(app):
    return sorted(r.get_attribute("data-member") for r in app.all("home-visit"))


def mine(app, username, until):
    """The open visits due by `until` that are this staff member's (by name or by role)."""
    return sorted(
        m
        for (m,) in app.sql(
            """SELECT p.member_id FROM visit_plans p JOIN members m ON m.id = p.member_id, staff s
               WHERE s.username = ? AND p.status = 'open' AND p.due_date <= ? AND m.merged_into IS NULL AND m.status <> 'left'
                 AND (p.assignee_id = s.id OR (p.assignee_id IS NULL AND p.assignee_role = s.role))""",
            username,
            until,
        )
    )


def test_a_clerk_logs_a_return_visit_from_the_home_list(app):
    today = centre_today()
    app.login("qiantai")
    app.el("home-visits")
    # Today's list: what is due today or overdue, and the clerk's own.
    due_today = mine(app, "qiantai", today.isoformat())
    assert due_today, "the demo leaves the desk visits due today"
    wait(app).until(lambda d: shown_members(app) == due_today)
    overdue_rows = [r for r in app.all("home-visit") if "overdue" in r.get_attribute("class")]
    assert len(overdue_rows) >= 1
    app.shot("home-visits-zh")
    app.click("home-visits-week")
    wait(app).until(lambda d: shown_members(app) == mine(app, "qiantai", (today + datetime.timedelta(days=6)).isoformat()))
    assert len(app.all("home-visit")) > len(due_today)
    app.click("home-visits-overdue")
    wait(app).until(lambda d: len(app.all("home-visit")) == len(overdue_rows))
    app.click("home-visits-today")
    wait(app).until(lambda d: shown_members(app) == due_today)

    # Open the first family: the member page at its visits tab, the cursor in the notes.
    row = app.all("home-visit")[0]
    member_id = row.get_attribute("data-member")
    row.find_element("css selector", "td").click()
    app.el("visit-form")
    wait(app).until(lambda d: d.switch_to.active_element.get_attribute("data-testid") == "visit-content")
    planned_before = len(app.all("visit-planned"))
    assert planned_before >= 1
    app.el("visit-mood-neutral").click()
    Select(app.el("visit-score")).select_by_value("4")
    app.type("visit-next-step", "请教练多关注横踢")
    content = app.type("visit-content", "家长说孩子最近练得很认真，希望多些一对一指导")
    app.shot("member-visit-form-zh")
    content.send_keys(Keys.ENTER)
    wait(app).until(lambda d: any("一对一指导" in v.text for v in app.all("visit")))
    (staff, mood, score, business_date), = app.sql(
        """SELECT s.username, v.mood, sc.score, v.business_date FROM return_visits v JOIN staff s ON s.id = v.staff_id
           LEFT JOIN satisfaction_scores sc ON sc.id = v.satisfaction_id
           WHERE v.member_id = ? AND v.content LIKE '%一对一指导%'""",
        member_id,
    )
    assert (staff, mood, score, business_date) == ("qiantai", "neutral", 4, today.isoformat())
    # The visit answered every plan of the family due this week.
    week_end = (today + datetime.timedelta(days=6)).isoformat()
    assert app.sql("SELECT COUNT(*) FROM visit_plans WHERE member_id = ? AND status = 'open' AND due_date <= ?", member_id, week_end) == [(0,)]
    app.shot("member-visits-zh")

    # On the timeline too.
    app.click("member-tab-timeline")
    wait(app).until(lambda d: any(e.get_attribute("data-entity") == "return_visit" for e in app.all("timeline-entry")))

    # Back home: the family is off the list.
    app.driver.find_element("css selector", "body").send_keys(Keys.ESCAPE)
    app.el("home-visits")
    wait(app).until(lambda d: member_id not in shown_members(app))

    # The same screens in English.
    app.click("lang-switch")
    wait(app).until(lambda d: app.el("home-visits").text.startswith("Return visits"))
    app.shot("home-visits-en")
    app.all("home-visit")[0].find_element("css selector", "td").click()
    app.el("visit-form")
    app.shot("member-visits-en")


def test_the_manager_sees_every_visit_and_sets_the_rules(app):
    today = centre_today()
    app.login("admin")
    app.el("home-visits")
    everyone = app.sql(
        "SELECT COUNT(*) FROM visit_plans p JOIN members m ON m.id = p.member_id WHERE p.status = 'open' AND p.due_date <= ? AND m.merged_into IS NULL AND m.status <> 'left'",
        today.isoformat(),
    )[0][0]
    wait(app).until(lambda d: len(app.all("home-visit")) == everyone)
    assert any(r.get_attribute("data-rule") == "complaint_closed" for r in app.all("home-visit")), "a manager's list is everyone's"
    app.shot("home-manager-zh")

    app.click("nav-settings")
    panel = app.el("visit-rules-panel")
    panel.location_once_scrolled_into_view
    rules = {r.get_attribute("data-kind"): r for r in app.all("visit-rule")}
    assert list(rules) == ["first_lesson", "enrolment", "complaint_closed", "contract_ending", "top_tier"]
    days = rules["enrolment"].find_element("css selector", '[data-testid="visit-rule-days"]')
    days.clear()
    days.send_keys("0")
    app.click("visit-rules-save")
    # Refused with the field named, nothing saved.
    wait(app).until(lambda d: days.get_attribute("aria-invalid") == "true")
    assert app.sql("SELECT COUNT(*) FROM settings WHERE key = 'visit_rules'") == [(0,)]
    app.shot("visit-rules-refused-zh")
    days.clear()
    days.send_keys("14")
    Select(rules["enrolment"].find_element("css selector", '[data-testid="visit-rule-owner"]')).select_by_value("clerk")
    rules["top_tier"].find_element("css selector", '[data-testid="visit-rule-on"]').click()
    app.click("visit-rules-save")
    wait(app).until(lambda d: app.sql("SELECT COUNT(*) FROM settings WHERE key = 'visit_rules'") == [(1,)])
    saved = {r["kind"]: r for r in app.call("visit_rules", {})}
    assert (saved["enrolment"]["days"], saved["enrolment"]["assign_to"], saved["top_tier"]["enabled"]) == (14, "clerk", False)
    app.shot("visit-rules-zh")


def test_the_churn_worklist_says_why_and_acting_plans_a_visit(app):
    today = centre_today()
    app.login("admin")
    panel = app.el("home-churn")
    flagged = app.sql(
        "SELECT f.member_id, f.id FROM churn_flags f JOIN members m ON m.id = f.member_id WHERE f.status = 'open' AND m.status NOT IN ('left','applicant') ORDER BY f.first_warned, m.name"
    )
    assert len(flagged) >= 2, "the demo has members at risk"
    wait(app).until(lambda d: len(app.all("home-churn-row")) == len(flagged))
    rows = app.all("home-churn-row")
    assert all(r.get_attribute("data-reasons") for r in rows)
    assert all(r.find_element("css selector", ".churn-why").text.strip() for r in rows), "every row says why in words"
    app.shot("home-churn-zh")

    # Dismiss the second with a reason: it leaves the list.
    second = rows[1].get_attribute("data-member")
    rows[1].find_element("css selector", '[data-testid="churn-dismiss"]').click()
    app.el("churn-dismiss-dialog")
    app.type("churn-dismiss-reason", "家长说孩子下月出国，回来继续" + Keys.ENTER)
    app.gone("churn-dismiss-dialog")
    wait(app).until(lambda d: second not in [r.get_attribute("data-member") for r in app.all("home-churn-row")])
    assert app.sql("SELECT status, note FROM churn_flags WHERE member_id = ? AND status <> 'cleared'", second) == [("dismissed", "家长说孩子下月出国，回来继续")]

    # Act on the first: a visit planned for the manager today, the member's visits tab open.
    first = app.all("home-churn-row")[0]
    member_id = first.get_attribute("data-member")
    first.find_element("css selector", '[data-testid="churn-act"]').click()
    app.el("visit-form")
    wait(app).until(lambda d: any("流失预警回访" in p.text for p in app.all("visit-planned")))
    assert app.sql(
        "SELECT p.due_date, s.username FROM visit_plans p JOIN staff s ON s.id = p.assignee_id WHERE p.member_id = ? AND p.rule = 'churn'", member_id
    ) == [(today.isoformat(), "admin")]
    app.shot("member-churn-visit-zh")

    app.click("lang-switch")
    app.driver.find_element("css selector", "body").send_keys(Keys.ESCAPE)
    wait(app).until(lambda d: app.el("home-churn").text.startswith("At risk"))
    app.shot("home-churn-en")

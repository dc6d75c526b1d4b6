"""The manager files a serious complaint, finds it overdue on the home screen, walks it
through its five handling steps to the customer's confirmation and sees it leave the
overdue list; then NPS answers recorded at the desk give the NPS per class group."""

import datetime
import sqlite3

from conftest import read_desk_csv
from selenium.webdriver.common.keys import Keys
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.support.ui import Select, WebDriverWait

STEPS = ["accept", "calm", "agree", "act", "thank"]


def wait(app, timeout=10):
    # Rows re-render when the data reloads: a stale row just means look again.
    return WebDriverWait(app.driver, timeout, ignored_exceptions=[StaleElementReferenceException])


def pick_member(app, testid, member_id, name):
    search = app.type(testid, name)
    wait(app, 5).until(lambda d: any(r.get_attribute("data-id") == member_id for r in app.all("picker-result")))
    search.send_keys(Keys.ENTER)


def unique_members(app, n):
    return app.sql(
        """SELECT id, name FROM members m WHERE status = 'active'
           AND (SELECT COUNT(*) FROM members x WHERE x.name = m.name) = 1 ORDER BY member_no LIMIT ?""",
        n,
    )


def ids(app, testid):
    return [r.get_attribute("data-id") for r in app.all(testid)]


def test_a_serious_complaint_walked_to_confirmation_and_nps(app):
    app.login("admin")
    (member_id, name), = unique_members(app, 1)

    # File it: serious, about the facility.
    app.click("nav-feedback")
    app.click("complaint-new")
    app.el("complaint-new-dialog")
    pick_member(app, "complaint-member", member_id, name)
    assert name in app.text_of("complaint-member-chosen")
    Select(app.el("complaint-category")).select_by_value("facility")
    app.el("complaint-severity-serious").click()
    app.type("complaint-body", "更衣室淋浴没有热水")
    app.shot("complaint-new")
    app.click("complaint-submit")
    app.el("complaint-dialog")
    (cid, filed, deadline, severity), = app.sql("SELECT id, business_date, deadline, severity FROM complaints WHERE member_id = ? AND body = '更衣室淋浴没有热水'", member_id)
    assert severity == "serious"
    assert datetime.date.fromisoformat(deadline) - datetime.date.fromisoformat(filed) == datetime.timedelta(days=2)
    app.click("dialog-close")
    app.gone("complaint-dialog")

    # Three days pass (the app runs on the real clock, so the complaint is moved back).
    back = lambda d: (datetime.date.fromisoformat(d) - datetime.timedelta(days=3)).isoformat()
    con = sqlite3.connect(app.db, timeout=10)
    con.execute("UPDATE complaints SET business_date = ?, deadline = ? WHERE id = ?", (back(filed), back(deadline), cid))
    con.commit()
    con.close()

    app.click("nav-home")
    wait(app).until(lambda d: cid in ids(app, "home-overdue-complaint"))
    app.shot("home-overdue")

    # Open it from the complaints list (flagged overdue) with the keyboard.
    app.click("nav-feedback")
    row = wait(app).until(lambda d: next((r for r in app.all("complaint-row") if r.get_attribute("data-id") == cid), None))
    assert row.get_attribute("data-overdue") == "true"
    app.driver.execute_script("arguments[0].focus()", row)
    row.send_keys(Keys.ENTER)
    app.el("complaint-dialog")
    for kind in STEPS:
        notes = app.el("step-notes")
        notes.send_keys(f"{kind}：已和家长沟通")
        notes.send_keys(Keys.ENTER)
        wait(app).until(
            lambda d: next(r for r in app.all("complaint-step") if r.get_attribute("data-kind") == kind).get_attribute("data-done") == "true"
        )
    app.type("confirm-resolution", "已修好热水器，赠送一节课")
    app.el("confirm-yes").click()
    app.type("confirm-note", "家长表示满意")
    app.shot("complaint-confirm")
    app.click("confirm-submit")
    app.el("complaint-closed")
    app.shot("complaint-closed")
    app.click("dialog-close")
    app.gone("complaint-dialog")

    app.click("nav-home")
    app.el("home-today")  # the home screen has loaded its data
    assert cid not in ids(app, "home-overdue-complaint")
    (closed, confirmed, steps_done), = app.sql("SELECT closed_at IS NOT NULL, confirmed, steps_done FROM complaints WHERE id = ?", cid)
    assert (closed, confirmed, steps_done) == (1, 1, 5)
    kinds = [k for (k,) in app.sql("SELECT kind FROM complaint_steps WHERE complaint_id = ? ORDER BY step", cid)]
    assert kinds == STEPS
    (logged,), = app.sql("SELECT COUNT(*) FROM change_log WHERE entity = 'complaint' AND entity_id = ?", cid)
    assert logged == 7  # filed, five steps, closed
    # 致谢回访 told the family (one notice per guardian of the member).
    (complaint_no,), = app.sql("SELECT complaint_no FROM complaints WHERE id = ?", cid)
    (follow_ups,), = app.sql("SELECT COUNT(*) FROM notices WHERE kind = 'complaint_follow_up' AND member_id = ? AND text LIKE '%' || ? || '%'", member_id, complaint_no)
    (guardians,), = app.sql("SELECT COUNT(*) FROM member_guardians WHERE member_id = ?", member_id)
    assert follow_ups == guardians >= 1

    # NPS: 10, 9 and 3 for one class group → 2 promoters, 1 detractor of 3 → 33.3.
    (group_id, group_name), = app.sql("SELECT id, name FROM class_groups WHERE archived = 0 ORDER BY name LIMIT 1")
    app.click("nav-feedback")
    app.click("fb-tab-satisfaction")
    app.click("score-new")
    app.el("score-dialog")
    Select(app.el("score-kind")).select_by_value("nps")
    wait(app).until(lambda d: any(o.get_attribute("value") == group_id for o in Select(app.el("score-group")).options))
    Select(app.el("score-group")).select_by_value(group_id)
    for n, ((mid, mname), value) in enumerate(zip(unique_members(app, 3), [10, 9, 3]), start=1):
        pick_member(app, "score-member", mid, mname)
        app.type("score-value", str(value) + Keys.ENTER)
        wait(app).until(lambda d: app.all("score-saved-count") and str(n) in app.all("score-saved-count")[0].text)
    app.click("score-done")
    app.gone("score-dialog")
    month = filed[:7]  # the desk's business month; the demo's own answers are in earlier months
    row = wait(app).until(lambda d: next((r for r in app.all("sat-row") if r.get_attribute("data-key") == group_id and r.get_attribute("data-month") == month), None))
    nps = row.find_element("css selector", '[data-testid="sat-nps"]')
    assert nps.text.strip() == "33.3", row.text
    assert group_name in row.text
    app.shot("nps")

    # The results for Excel: the same line in the CSV, with the BOM and a Chinese header.
    app.click("fb-export")
    rows = read_desk_csv(app.el("export-path", timeout=20).get_attribute("data-path"))
    assert rows[0][:2] == ["月份", "班级/教练"]
    assert [r[-1] for r in rows[1:] if r[:2] == [month, group_name]] == ["33.3"], rows

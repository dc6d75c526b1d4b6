"""A consultant leaves: the manager hands all of their families to the other consultant
in one step from the staff list. The dialog counts what moves; afterwards the leaver has
no open lead or planned return visit left and every member they owned has the new one."""

from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait


def wait(app, timeout=10):
    return WebDriverWait(app.driver, timeout, ignored_exceptions=[StaleElementReferenceException])


def staff_id(app, username):
    (sid,), = app.sql("SELECT id FROM staff WHERE username = ?", username)
    return sid


def open_hand_over(app, from_id):
    # The staff list loads after the page: wait for the row.
    wait(app).until(lambda d: any(r.get_attribute("data-id") == from_id for r in app.all("staff-row")))
    row = next(r for r in app.all("staff-row") if r.get_attribute("data-id") == from_id)
    row.find_element("css selector", '[data-testid="staff-hand-over"]').click()
    return app.el("hand-over-dialog")


def test_the_manager_hands_a_leaving_consultants_families_to_another(app):
    leaver, receiver = staff_id(app, "guwen1"), staff_id(app, "guwen2")
    app.login("admin")
    # A lead still being followed up (how many the demo's history leaves open depends on its dice).
    source = app.call("settings_get", {})["lead_sources"][0]
    app.call("lead_create", {"input": {
        "name": "周跟进", "contact_name": "周妈妈", "phone": "13700000002", "wechat": "", "gender": None, "birthday": None,
        "source": source, "consultant_id": leaver, "man_money": False, "man_authority": False, "man_need": True,
        "needs": "", "notes": "", "next_follow_up": None,
    }})
    open_leads = app.sql("SELECT COUNT(*) FROM leads WHERE consultant_id = ? AND status NOT IN ('enrolled', 'lost')", leaver)[0][0]
    open_visits = app.sql("SELECT COUNT(*) FROM visit_plans WHERE assignee_id = ? AND status = 'open'", leaver)[0][0]
    assert open_leads > 0
    app.click("nav-settings")
    open_hand_over(app, leaver)
    # The other consultant, chosen by value (the select lists staff by name).
    app.driver.execute_script(
        "const s = arguments[0]; s.value = arguments[1]; s.dispatchEvent(new Event('change'));", app.el("hand-over-to"), receiver
    )
    wait(app).until(lambda d: app.el("hand-over-counts").get_attribute("data-leads") == str(open_leads))
    counts = app.el("hand-over-counts")
    members = int(counts.get_attribute("data-members"))
    assert members > 0
    assert int(counts.get_attribute("data-visits")) == open_visits
    assert f"线索 {open_leads} 条" in counts.text
    app.shot("hand-over-zh")

    # Esc backs out: nothing moved.
    app.el("hand-over-to").send_keys(Keys.ESCAPE)
    app.gone("hand-over-dialog")
    assert app.sql("SELECT COUNT(*) FROM member_consultants") == [(0,)]

    # In English this time, and confirmed.
    app.click("lang-switch")
    open_hand_over(app, leaver)
    app.driver.execute_script(
        "const s = arguments[0]; s.value = arguments[1]; s.dispatchEvent(new Event('change'));", app.el("hand-over-to"), receiver
    )
    wait(app).until(lambda d: "leads" in app.el("hand-over-counts").text and app.el("hand-over-counts").get_attribute("data-members") == str(members))
    app.shot("hand-over-en")
    app.click("hand-over-confirm")
    app.gone("hand-over-dialog")
    app.click("lang-switch")

    assert app.sql("SELECT COUNT(*) FROM leads WHERE consultant_id = ? AND status NOT IN ('enrolled', 'lost')", leaver) == [(0,)]
    assert app.sql("SELECT COUNT(*) FROM visit_plans WHERE assignee_id = ? AND status = 'open'", leaver) == [(0,)]
    assert app.sql("SELECT COUNT(*) FROM member_consultants WHERE consultant_id = ?", receiver) == [(members,)]
    logged = app.sql("SELECT COUNT(*) FROM change_log WHERE entity = 'member_consultant'")[0][0]
    assert logged == members, "every moved member is in the change log"

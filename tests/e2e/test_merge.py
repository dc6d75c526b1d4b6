"""The same child registered twice (once by each parent): the manager finds the pair in
the members list's duplicate check, keeps the record with the older number, merges the
other into it from the keyboard, and the child's contracts and payments are in one place."""

from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait


def test_manager_merges_a_child_registered_twice(app):
    app.login("admin")
    # An approved member with a contract, and the same name on the same guardian phone.
    (keep_id, name, phone), = app.sql(
        """SELECT m.id, m.name, g.phone FROM members m
           JOIN member_guardians mg ON mg.member_id = m.id AND mg.is_primary = 1 JOIN guardians g ON g.id = mg.guardian_id
           WHERE m.status = 'active' AND EXISTS (SELECT 1 FROM contracts k WHERE k.member_id = m.id)
           ORDER BY m.member_no LIMIT 1"""
    )
    (contracts_before,), = app.sql("SELECT COUNT(*) FROM contracts WHERE member_id = ?", keep_id)
    dup = app.call("member_apply", {"input": {
        "name": name, "gender": "M", "notes": "爸爸又登记了一次", "referred_by": None,
        "guardian": {"name": "爸爸", "relation": "爸爸", "phone": phone, "wechat": ""},
    }})
    app.click("nav-members")
    app.click("members-duplicates")
    row = WebDriverWait(app.driver, 20).until(
        lambda d: next((r for r in app.all("dup-row") if r.get_attribute("data-duplicate") == dup["id"]), None)
    )
    assert row.get_attribute("data-keep") == keep_id, "the approved record is suggested as the one to keep"
    assert "同名同家长电话" in row.text
    app.shot("pairs")
    # Keyboard only: focus the row, Enter asks, Enter confirms.
    app.driver.execute_script("arguments[0].focus()", row)
    row.send_keys(Keys.ENTER)
    app.el("confirm-ok").send_keys(Keys.ENTER)
    assert name in app.el("dup-merged", timeout=20).text

    (merged_into, status), = app.sql("SELECT merged_into, status FROM members WHERE id = ?", dup["id"])
    assert (merged_into, status) == (keep_id, "left")
    (contracts_after,), = app.sql("SELECT COUNT(*) FROM contracts WHERE member_id = ?", keep_id)
    assert contracts_after == contracts_before
    (logged,), = app.sql("SELECT COUNT(*) FROM change_log WHERE entity_id IN (?, ?) AND op IN ('merge', 'merged_into')", keep_id, dup["id"])
    assert logged == 2
    # Nothing is left to merge for this child.
    assert all(r.get_attribute("data-duplicate") != dup["id"] for r in app.all("dup-row"))
    app.shot("merged")

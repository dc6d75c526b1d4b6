"""Referral rewards 转介绍 in the real app: a demo member refers a new child, who refers
another; when each first contract is paid in full the chain is rewarded per the table
(200 / 50). The first member's page shows the tree (indented, keyboard: ↓ then Enter opens
the grandchild, whose page shows the chain above), and the manager's referral report
ranks the referrers and exports the same rows as CSV for Excel. The manager edits the
table in Settings; a bad one is refused with the field named."""


from conftest import read_desk_csv
from selenium.webdriver.common.keys import Keys
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.support.ui import WebDriverWait


def wait(app, timeout=10):
    return WebDriverWait(app.driver, timeout, ignored_exceptions=[StaleElementReferenceException])


def join_and_pay(app, name, phone, referred_by, package_id):
    """Registers a child referred by `referred_by`, approves, enrols and pays in full,
    through the same commands the desk's screens call."""
    m = app.call(
        "member_apply",
        {"input": {"name": name, "gender": "F", "referred_by": referred_by,
                   "guardian": {"name": name + "妈妈", "relation": "妈妈", "phone": phone, "wechat": ""}}},
    )
    app.call("member_approve", {"memberId": m["id"], "input": {"birthday": "2018-05-01", "school": "实验小学", "course_interest": "跆拳道"}})
    k = app.call("contract_enrol", {"input": {"member_id": m["id"], "package_id": package_id, "discount": "", "notes": ""}})
    app.call("payment_take", {"input": {"contract_id": k["contract"]["id"], "amount": k["balance_due"], "method": "wechat", "note": ""}})
    return m["id"]


def referral_points(app, member_id):
    (n,), = app.sql(
        "SELECT COALESCE(SUM(delta), 0) FROM points_ledger WHERE member_id = ? AND kind IN ('referral', 'reversal') AND ref_id IN (SELECT id FROM contracts)",
        member_id,
    )
    return n


def test_referral_tree_on_the_member_page_and_the_referral_report(app):
    app.login("admin")
    # A current demo member with a name nobody else has, whom nobody referred and who has
    # referred nobody yet (so the grandchild's chain above is exactly child → root).
    (root_id, root_name), = app.sql(
        """SELECT m.id, m.name FROM members m WHERE m.status = 'active' AND m.merged_into IS NULL AND m.referred_by IS NULL
           AND (SELECT COUNT(*) FROM members x WHERE x.name = m.name) = 1
           AND NOT EXISTS (SELECT 1 FROM members r WHERE r.referred_by = m.id) ORDER BY m.member_no LIMIT 1"""
    )
    (package_id,), = app.sql("SELECT id FROM packages WHERE name = '48课时包'")
    before = referral_points(app, root_id)
    child = join_and_pay(app, "秦晓雨", "13912340001", root_id, package_id)
    grandchild = join_and_pay(app, "秦晓风", "13912340002", child, package_id)
    assert referral_points(app, child) == 200
    assert referral_points(app, root_id) == before + 200 + 50
    # Every reward is in the change log.
    (unlogged,), = app.sql(
        "SELECT COUNT(*) FROM points_ledger p WHERE p.kind = 'referral' AND NOT EXISTS (SELECT 1 FROM change_log l WHERE l.entity = 'points' AND l.entity_id = p.id)"
    )
    assert unlogged == 0

    # The root's page: the referrals tab shows the child, and the grandchild indented under it.
    app.click("nav-home")
    search = app.type("search-input", root_name)
    wait(app).until(lambda d: any(r.get_attribute("data-id") == root_id for r in app.all("search-result")))
    for r in app.all("search-result"):
        if r.get_attribute("data-id") == root_id:
            r.click()
            break
    app.wait_text("member-title", lambda t: root_name in t)
    app.click("member-tab-referrals")
    app.el("referral-tree")
    rows = wait(app).until(lambda d: [r for r in app.all("referral-down")] or None)
    by_id = {r.get_attribute("data-id"): r for r in rows}
    assert by_id[child].get_attribute("data-depth") == "1" and by_id[child].get_attribute("data-points") == "200"
    assert by_id[grandchild].get_attribute("data-depth") == "2" and by_id[grandchild].get_attribute("data-points") == "50"
    assert "秦晓风" in by_id[grandchild].text and "已报名" in by_id[grandchild].text
    # Indented: the grandchild's row starts further right than the child's.
    assert int(by_id[grandchild].value_of_css_property("padding-left").rstrip("px")) > int(by_id[child].value_of_css_property("padding-left").rstrip("px"))
    app.shot("tree")

    # Keyboard: focus the child, ↓ to the grandchild, Enter opens the grandchild's page.
    app.driver.execute_script("arguments[0].focus()", by_id[child])
    by_id[child].send_keys(Keys.ARROW_DOWN)
    wait(app).until(lambda d: d.switch_to.active_element.get_attribute("data-id") == grandchild)
    app.driver.switch_to.active_element.send_keys(Keys.ENTER)
    app.wait_text("member-title", lambda t: "秦晓风" in t)
    # The grandchild's own tree (not a row of the page it came from) once it has loaded.
    wait(app).until(lambda d: [u.get_attribute("data-id") for u in app.all("referral-up")] == [child, root_id])
    ups = app.all("referral-up")
    assert [u.get_attribute("data-points") for u in ups] == ["200", "50"]
    app.shot("upline")

    # The manager's referral report: today's range ranks the referrers.
    app.click("nav-reports")
    app.click("report-tab-referrals")
    table = app.el("an-table-referrers", timeout=20)
    wait(app, 20).until(lambda d: "秦晓雨" in app.el("an-table-referrers").text)
    text = app.el("an-table-referrers").text
    assert root_name in text
    assert "推荐人排行" in text and "获得积分" in text
    assert "秦晓风" in app.el("an-table-referred").text
    app.shot("report")
    app.click("an-export-referrers")
    status = app.el("export-path", timeout=20)
    rows = read_desk_csv(status.get_attribute("data-path"))
    assert rows[0] == ["推荐人", "会员号", "推荐人数", "已报名", "获得积分"], rows[0]
    assert any(r[0] == "秦晓雨" and r[4] == "200" for r in rows[1:]), rows
    assert len(rows) - 1 == int(status.get_attribute("data-rows"))

    # Settings: the manager's reward table per level; a negative level is refused by the
    # core with the field and rule named, a word by the form; a good table is saved.
    app.click("nav-settings")
    field = app.el("settings-referral-rewards")
    assert field.get_attribute("value").replace(" ", "") == "200,50"
    app.type("settings-referral-rewards", "300, -5")
    app.click("settings-save")
    error = app.el("form-error")
    assert error.text == "转介绍奖励积分：应在 0 到 100000 之间", error.text
    assert app.el("settings-referral-rewards").get_attribute("aria-invalid") == "true"
    app.type("settings-referral-rewards", "三百")
    app.click("settings-save")
    wait(app).until(lambda d: app.el("form-error").get_attribute("data-code") == "validation.local")
    assert app.sql("SELECT value FROM settings WHERE key = 'referral_rewards'") == []
    app.type("settings-referral-rewards", "300，80")
    app.click("settings-save")
    wait(app).until(lambda d: app.sql("SELECT value FROM settings WHERE key = 'referral_rewards'") == [("[300,80]",)])
    app.shot("settings")

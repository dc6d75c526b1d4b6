"""Member tiers 会员等级 in the real app. The demo centre comes with bronze / silver / gold /
platinum by money paid over 12 months. A child paid in full for the 96-lesson package
(¥8,800) is gold at once. In Settings the manager raises gold's discount to 6 % and adds a
diamond tier — a threshold below platinum's is refused with the tier named —, saves, and
re-evaluates: the child's page shows 金卡 · 优惠 6 %, the enrol dialog suggests ¥288.00 off
the ¥4,800 package (kept by the clerk, sold at ¥4,512.00), and the payment dialog shows
the tier. Every tier change is in the change log."""

import json

from selenium.webdriver.common.keys import Keys
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.ui import WebDriverWait


def wait(app, timeout=10):
    return WebDriverWait(app.driver, timeout, ignored_exceptions=[StaleElementReferenceException])


def test_tiers_configured_in_settings_re_evaluated_and_shown_at_the_desk(app):
    app.login("admin")
    (big,), = app.sql("SELECT id FROM packages WHERE name = '96课时包'")
    (small,), = app.sql("SELECT id FROM packages WHERE name = '48课时包'")
    m = app.call(
        "member_apply",
        {"input": {"name": "韩金宝", "gender": "M", "referred_by": None,
                   "guardian": {"name": "韩妈妈", "relation": "妈妈", "phone": "13912348888", "wechat": ""}}},
    )
    mid = m["id"]
    app.call("member_approve", {"memberId": mid, "input": {"birthday": "2017-06-01", "school": "实验小学", "course_interest": "跆拳道"}})
    k = app.call("contract_enrol", {"input": {"member_id": mid, "package_id": big, "discount": "", "notes": ""}})
    app.call("payment_take", {"input": {"contract_id": k["contract"]["id"], "amount": k["balance_due"], "method": "wechat", "note": ""}})
    # The payment that crossed ¥8,000 made the child gold in its own transaction.
    assert app.sql("SELECT level, name_zh, discount_permille FROM member_tiers WHERE member_id = ?", mid) == [(3, "金卡", 50)]

    # Settings: the demo's four tiers, lowest first.
    app.click("nav-settings")
    app.el("tiers-panel")
    wait(app).until(lambda d: len(app.all("tier-row")) == 4)
    names = [e.get_attribute("value") for e in app.all("tier-name-zh")]
    assert names == ["铜卡", "银卡", "金卡", "铂金卡"], names
    assert Select(app.el("tier-basis")).first_selected_option.get_attribute("value") == "spend"
    # Gold's discount 5 → 6 %; a fifth tier typed with a threshold below platinum's.
    app.all("tier-discount")[2].clear()
    app.all("tier-discount")[2].send_keys("6")
    app.click("tier-add")
    wait(app).until(lambda d: len(app.all("tier-row")) == 5)
    # keyboard-first: the new row's name has the focus
    assert app.driver.switch_to.active_element.get_attribute("data-row") == "4"
    app.driver.switch_to.active_element.send_keys("钻石卡" + Keys.TAB + "Diamond" + Keys.TAB + "10000" + Keys.TAB + "10")
    app.click("tiers-save")
    error = app.el("form-error")
    assert error.text == "等级门槛：「钻石卡」的门槛应高于下一级「铂金卡」", error.text
    invalid = [e.get_attribute("aria-invalid") for e in app.all("tier-threshold")]
    assert invalid == [None, None, None, None, "true"], invalid
    assert app.driver.switch_to.active_element.get_attribute("data-testid") == "tier-threshold"
    app.shot("refused")
    stored = json.loads(app.sql("SELECT value FROM settings WHERE key = 'tiers'")[0][0])
    assert len(stored["tiers"]) == 4, "nothing saved"
    thr = app.all("tier-threshold")[4]
    thr.clear()
    thr.send_keys("30000")
    app.click("tiers-save")
    wait(app).until(lambda d: len(json.loads(app.sql("SELECT value FROM settings WHERE key = 'tiers'")[0][0])["tiers"]) == 5)
    stored = json.loads(app.sql("SELECT value FROM settings WHERE key = 'tiers'")[0][0])
    assert stored["tiers"][2]["discount_percent"] == "6" and stored["tiers"][4]["name_en"] == "Diamond"
    # Saving does not evaluate: the child is still at 5 % until the manager re-evaluates.
    assert app.sql("SELECT discount_permille FROM member_tiers WHERE member_id = ?", mid) == [(50,)]

    (gold_before,), = app.sql("SELECT COUNT(*) FROM member_tiers WHERE level = 3")
    (log_before,), = app.sql("SELECT COUNT(*) FROM change_log WHERE entity = 'member_tier'")
    app.click("tiers-evaluate")
    run = app.wait_text("tiers-run", lambda t: "已评定" in t)
    assert "等级变动" in run, run
    per_level = app.text_of("tiers-per-level")
    assert "金卡" in per_level and "钻石卡 0 人" in per_level, per_level
    assert app.sql("SELECT level, discount_permille FROM member_tiers WHERE member_id = ?", mid) == [(3, 60)]
    # Each gold member's benefit changed: one logged row each, and only those.
    (log_after,), = app.sql("SELECT COUNT(*) FROM change_log WHERE entity = 'member_tier'")
    (changed,), = app.sql("SELECT COUNT(*) FROM member_tiers WHERE updated_at >= (SELECT MAX(at) FROM change_log WHERE entity = 'setting' AND entity_id = 'tiers')")
    assert log_after - log_before == changed >= gold_before >= 1, (log_before, log_after, changed, gold_before)
    app.driver.execute_script("arguments[0].scrollIntoView()", app.el("tiers-panel"))
    app.shot("settings")
    # Again: nothing changes, nothing is written.
    app.click("tiers-evaluate")
    app.wait_text("tiers-run", lambda t: "0 人等级变动" in t)
    assert app.sql("SELECT COUNT(*) FROM change_log WHERE entity = 'member_tier'") == [(log_after,)]

    # The desk: the child's page header shows the tier and its discount.
    app.click("nav-home")
    app.type("search-input", "韩金宝")
    wait(app).until(lambda d: any(r.get_attribute("data-id") == mid for r in app.all("search-result")))
    next(r for r in app.all("search-result") if r.get_attribute("data-id") == mid).click()
    app.wait_text("member-title", lambda t: "韩金宝" in t)
    badge = app.wait_text("member-tier", lambda t: "金卡" in t)
    assert badge == "金卡 · 优惠 6%", badge
    assert "再 ¥3,200.00 升至铂金卡" in app.el("member-tier").get_attribute("title")

    # Enrolling: the tier's discount is suggested for the chosen package, half up to the fen.
    app.click("enrol-open")
    app.el("enrol-dialog")
    Select(app.el("enrol-package")).select_by_value(small)
    wait(app).until(lambda d: app.el("enrol-discount").get_attribute("value") in ("288", "288.00"))
    assert "金卡会员优惠 6%" in app.text_of("enrol-tier-hint")
    assert app.text_of("enrol-amount-due") == "¥4,512.00"
    app.shot("enrol")
    app.click("enrol-submit")
    app.gone("enrol-dialog")
    (discount, due), = app.sql("SELECT discount, amount_due FROM contracts WHERE member_id = ? AND package_id = ?", mid, small)
    assert (discount, due) == (28_800, 451_200)

    # Taking the payment: the dialog names the tier and the contract's discount.
    app.click("pay-open")
    app.el("pay-dialog")
    tier_line = app.text_of("pay-tier")
    assert "金卡 · 优惠 6%" in tier_line and "¥288.00" in tier_line, tier_line
    app.shot("pay")
    app.driver.switch_to.active_element.send_keys(Keys.ESCAPE)
    app.gone("pay-dialog")

    # The timeline tells the tier's story.
    app.click("member-tab-timeline")
    wait(app).until(lambda d: any(e.get_attribute("data-entity") == "member_tier" for e in app.all("timeline-entry")))
    texts = [e.text for e in app.all("timeline-entry") if e.get_attribute("data-entity") == "member_tier"]
    assert any("会员等级升为「金卡」" in t for t in texts), texts
    assert any("会员等级「金卡」的权益已更新" in t for t in texts), texts
    app.shot("timeline")

    # In English the tier, its discount and its history read in English.
    app.click("lang-switch")
    wait(app).until(lambda d: d.find_element("css selector", "html").get_attribute("lang") == "en")
    assert app.wait_text("member-tier", lambda t: "Gold" in t) == "Gold · 6% off"
    wait(app).until(lambda d: any("Tier raised to Gold" in e.text for e in app.all("timeline-entry")))
    app.click("nav-settings")
    app.el("tiers-panel")
    app.driver.execute_script("arguments[0].scrollIntoView()", app.el("tiers-panel"))
    assert "Threshold (¥)" in app.text_of("tiers-panel")
    app.shot("settings-en")


def test_care_plans_name_an_owner_set_visit_days_and_greet_on_a_holiday(app):
    """The manager gives gold families a named owner 专属顾问 and silver a visit every 42
    days, adds a holiday dated today; the gold child's page names the owner, and the
    notifier's next round greets every member of the tiers whose plan has holiday greetings
    (silver up in the demo) once."""
    from conftest import centre_today

    today = centre_today().isoformat()
    (owner_id, owner_name), = app.sql("SELECT id, display_name FROM staff WHERE username = 'guwen1'")
    app.login("admin")
    app.click("nav-settings")
    app.el("tier-care")
    wait(app).until(lambda d: len(app.all("tier-care-row")) == 4)
    Select(app.all("tier-owner")[2]).select_by_value(owner_id)
    app.all("tier-visit-days")[1].send_keys("42")
    app.click("tiers-save")
    wait(app).until(lambda d: json.loads(app.sql("SELECT value FROM settings WHERE key = 'tiers'")[0][0])["tiers"][2]["owner_id"] == owner_id)
    stored = json.loads(app.sql("SELECT value FROM settings WHERE key = 'tiers'")[0][0])["tiers"]
    assert [t["visit_days"] for t in stored] == [0, 42, 56, 28]
    assert [t["holiday_greetings"] for t in stored] == [False, True, True, True]
    app.driver.execute_script("arguments[0].scrollIntoView()", app.el("tier-care"))
    app.shot("care-plans-zh")

    # A holiday today, added at the end of the list (kept in date order by the desk).
    app.driver.execute_script("arguments[0].scrollIntoView()", app.el("holidays-panel"))
    before = len(app.all("holiday-row"))
    app.click("holiday-add")
    wait(app).until(lambda d: len(app.all("holiday-row")) == before + 1)
    app.all("holiday-date")[-1].send_keys(today)
    app.all("holiday-name-zh")[-1].send_keys("建馆纪念日")
    app.all("holiday-name-en")[-1].send_keys("Founding Day")
    app.click("holidays-save")
    wait(app).until(lambda d: any(h["date"] == today for h in json.loads((app.sql("SELECT value FROM settings WHERE key = 'holidays'") or [("[]",)])[0][0])))
    shown = [e.get_attribute("value") for e in app.all("holiday-date")]
    assert today in shown and shown == sorted(shown), f"kept in date order: {shown}"
    app.shot("holidays-zh")

    greeted = app.sql(
        """SELECT COUNT(*) FROM member_tiers t JOIN members m ON m.id = t.member_id
           WHERE t.level >= 2 AND m.status = 'active' AND m.merged_into IS NULL AND EXISTS (SELECT 1 FROM member_guardians g WHERE g.member_id = m.id)"""
    )[0][0]
    assert greeted > 0
    WebDriverWait(app.driver, 80, poll_frequency=1).until(lambda d: app.sql("SELECT COUNT(DISTINCT member_id) FROM notices WHERE kind = 'holiday'")[0][0] == greeted)
    (text,), = app.sql("SELECT text FROM notices WHERE kind = 'holiday' LIMIT 1")
    assert "值此建馆纪念日之际" in text, text

    # A gold child's page names the owner.
    (gold_id, gold_name), = app.sql("SELECT m.id, m.name FROM member_tiers t JOIN members m ON m.id = t.member_id WHERE t.level = 3 AND m.status = 'active' LIMIT 1")
    app.click("nav-home")
    app.type("search-input", gold_name)
    wait(app).until(lambda d: any(r.get_attribute("data-id") == gold_id for r in app.all("search-result")))
    next(r for r in app.all("search-result") if r.get_attribute("data-id") == gold_id).click()
    assert app.wait_text("member-tier-owner", lambda t: owner_name in t) == f"专属顾问：{owner_name}"
    app.shot("member-owner-zh")

    app.click("lang-switch")
    assert app.wait_text("member-tier-owner", lambda t: "Named owner" in t) == f"Named owner: {owner_name}"
    app.click("nav-settings")
    app.driver.execute_script("arguments[0].scrollIntoView()", app.el("tier-care"))
    app.shot("care-plans-en")
    app.click("lang-switch")

"""The parents' portal 家长端 in a real Chromium, phone-sized, against the real
centredesk-server and a real desk database driven through the CLI (`portal enable`,
`portal invite`, `portal sync`): an invite, the privacy notice refused then accepted, two
children with their lessons and points, leave for a class (a double tap is one request)
that the desk confirms, leave for a class already started refused in both languages,
the desk offline (the request waits and is applied when it is back), a parent's
signed-in devices and "delete my portal account", and the same pages at 360 px with no
sideways scrolling."""

import os
import re
import sqlite3
import subprocess
import time

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from conftest import CLI, centre_today, clock_arg, cli
from selenium.common.exceptions import StaleElementReferenceException
from test_phone import Shots, phone, wait, wait_text
from test_sync import HO_PASSWORD, HO_USER, SERVER, HeadOffice


def desk(db, *args, **kw):
    env = dict(os.environ, CENTREDESK_TOKEN_STORE="file", CENTREDESK_HO_PASSWORD=HO_PASSWORD)
    return subprocess.run([str(CLI), "--clock", clock_arg(), "--db", str(db), "--user", "admin", "--password", "demo1234", *args],
                          check=True, env=env, capture_output=True, text=True, **kw)


def desk_json(db, *args):
    import json
    return json.loads(desk(db, *args).stdout)


@pytest.fixture
def portal(tmp_path):
    assert SERVER.exists(), f"build the server first: cargo build -p centredesk-server ({SERVER})"
    db = tmp_path / "desk.db"
    cli("--db", str(db), "demo", "--members", "80", "--seed", "5")
    raw = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    # A guardian with two children, both with a contract running and a class ahead.
    today = centre_today().isoformat()
    guardian = raw.execute(
        """SELECT mg.guardian_id FROM member_guardians mg JOIN members m ON m.id = mg.member_id
           WHERE m.status = 'active' AND EXISTS (SELECT 1 FROM group_members gm JOIN class_sessions s ON s.group_id = gm.group_id
                 WHERE gm.member_id = m.id AND s.date > ? AND s.status = 'scheduled' AND gm.start_date <= s.date AND (gm.end_date IS NULL OR gm.end_date >= s.date))
           GROUP BY mg.guardian_id HAVING COUNT(*) >= 2 ORDER BY mg.guardian_id LIMIT 1""", (today,)).fetchone()
    assert guardian, "the demo has brothers and sisters"
    ho = HeadOffice(tmp_path / "ho")
    ho.start()
    try:
        desk(db, "sync", "register", "--server", ho.url, "--centre", "SH01", "--ho-user", HO_USER)
        desk(db, "portal", "enable")
        yield {"db": db, "ho": ho, "raw": raw, "guardian": guardian[0]}
    finally:
        ho.stop()
        raw.close()


def invite(p) -> str:
    link = desk_json(p["db"], "portal", "invite", p["guardian"])
    report = desk_json(p["db"], "portal", "sync")
    assert report["published"] > 0, report
    return p["ho"].url + link["path"]


def tap(driver, css, timeout=15):
    """A thumb's tap on the element once it is shown (the page redraws itself every few
    seconds with the desk's answers, so a found element may be replaced: find it again)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            e = wait(driver, css, timeout)
            driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", e)
            e.click()
            return
        except StaleElementReferenceException:
            if time.monotonic() > deadline:
                raise


def requests_shown(driver):
    return [(e.get_attribute("data-status"), e.text) for e in driver.find_elements(By.CSS_SELECTOR, "[data-test=request]")]


def test_a_parent_signs_in_accepts_the_notice_and_asks_for_leave_the_desk_confirms(portal):
    p, raw = portal, portal["raw"]
    url = invite(p)
    shot = Shots("portal-390")
    driver = phone(390)
    try:
        driver.get(url)
        # The invite leaves the address bar at once (it is single-use, and never sent in a URL).
        WebDriverWait(driver, 10).until(lambda d: "#invite" not in d.current_url)
        wait(driver, "[data-test=consent]")
        assert "隐私告知" in driver.find_element(By.TAG_NAME, "main").text
        shot(driver, "consent-zh")
        tap(driver, "[data-test=consent-refuse]")
        wait(driver, "[data-test=consent-refused]")
        assert driver.find_elements(By.CSS_SELECTOR, "[data-test=child]") == []
        shot(driver, "refused-zh")
        tap(driver, "[data-test=read-notice]")
        tap(driver, "[data-test=consent-accept]")
        wait(driver, "[data-test=child]")
        # Two children, one tap apart, each with the desk's own numbers.
        tabs = driver.find_elements(By.CSS_SELECTOR, "[data-test=child-tab]")
        assert len(tabs) == 2, [t.text for t in tabs]
        kids = raw.execute("SELECT m.id, m.name FROM member_guardians mg JOIN members m ON m.id = mg.member_id WHERE mg.guardian_id = ? ORDER BY m.name, m.id", (p["guardian"],)).fetchall()
        assert sorted(t.text for t in tabs) == sorted(k[1] for k in kids)
        shot(driver, "home-zh")
        first = driver.find_element(By.CSS_SELECTOR, "[data-test=child-name]").text
        [(kid_id,)] = [(k[0],) for k in kids if k[1] == first]
        documents = desk_json(p["db"], "portal", "documents")
        [doc] = [d for d in documents if d["type"] == "child" and d["member_id"] == kid_id]
        shown = driver.find_element(By.CSS_SELECTOR, "[data-test=lessons-left]").text
        assert shown == ("不限" if doc["lessons_left"] is None else str(doc["lessons_left"]))
        assert driver.find_element(By.CSS_SELECTOR, "[data-test=points]").text == str(doc["points"])
        assert "数据更新于" in driver.find_element(By.CSS_SELECTOR, "[data-test=fresh]").text

        # Leave for the next open class; a double tap on "send" is one request.
        button = [b for b in driver.find_elements(By.CSS_SELECTOR, "[data-test=ask-leave]")][0]
        session_id = button.get_attribute("data-session")
        tap(driver, f"[data-test=ask-leave][data-session='{session_id}']")
        wait(driver, "[data-test=leave-sheet]")
        driver.find_element(By.CSS_SELECTOR, "[data-test=leave-note]").send_keys("感冒")
        shot(driver, "leave-sheet-zh")
        send = driver.find_element(By.CSS_SELECTOR, "[data-test=leave-send]")
        driver.execute_script("arguments[0].click(); arguments[0].click();", send)
        wait_text(driver, "[data-test=notice]", "已提交")
        wait(driver, "[data-test=request][data-status=waiting]")
        shot(driver, "leave-waiting-zh")
        report = desk_json(p["db"], "portal", "sync")
        assert (report["applied"], report["refused"]) == (3, 0), report  # two consent answers and one leave
        # The page looks again by itself and shows the desk's answer.
        wait_text(driver, "[data-test=request][data-status=accepted]", "已确认，本次不扣课时", timeout=20)
        db = sqlite3.connect(f"file:{p['db']}?mode=ro", uri=True)
        assert db.execute("SELECT COUNT(*) FROM leave_requests WHERE member_id = ? AND session_id = ? AND via = 'portal' AND withdrawn_at IS NULL", (kid_id, session_id)).fetchone() == (1,)
        guardians = db.execute("SELECT COUNT(*) FROM member_guardians WHERE member_id = ?", (kid_id,)).fetchone()[0]
        confirmations = db.execute("SELECT COUNT(*) FROM notices WHERE kind = 'leave_confirmed' AND member_id = ? AND session_id = ?", (kid_id, session_id)).fetchone()[0]
        assert confirmations == guardians, (confirmations, guardians)
        db.close()
        wait(driver, f"[data-test=on-leave]")
        shot(driver, "leave-confirmed-zh")

        # A class that has already started (an earlier one of the child's group, sent from a
        # page left open): refused, the reason in both languages.
        past = raw.execute(
            "SELECT s.id FROM class_sessions s JOIN class_sessions u ON u.group_id = s.group_id AND u.id = ? WHERE s.date < u.date AND s.status = 'scheduled' ORDER BY s.date DESC LIMIT 1",
            (session_id,)).fetchone()[0]
        status = driver.execute_async_script(
            """const done = arguments[arguments.length - 1];
               fetch('api/requests', {method: 'POST', headers: {'Content-Type': 'application/json'},
                 body: JSON.stringify({request_id: 'stale-page-1', kind: 'leave', payload: {member_id: arguments[0], session_ids: [arguments[1]]}})})
               .then(r => done(r.status));""", kid_id, past)
        assert status == 200
        assert desk_json(p["db"], "portal", "sync")["refused"] == 1
        wait_text(driver, "[data-test=request][data-status=refused]", "已开始，不能再请假", timeout=20)
        shot(driver, "refused-leave-zh")
        tap(driver, "[data-test=lang]")
        wait_text(driver, "[data-test=request][data-status=refused]", "has already started")
        wait_text(driver, "[data-test=request][data-status=accepted]", "Confirmed: no lesson is used this time")
        shot(driver, "home-en")
    finally:
        driver.quit()


def test_the_desk_offline_a_request_waits_and_the_pages_fit_360_px(portal):
    p = portal
    url = invite(p)
    # Head office's clock 40 minutes on: the desk has not been in touch for that long.
    p["ho"].stop()
    p["ho"].born -= 40 * 60
    p["ho"].start()
    shot = Shots("portal-360")
    driver = phone(360)
    try:
        driver.get(url)
        tap(driver, "[data-test=lang]")
        wait(driver, "[data-test=consent]")
        shot(driver, "consent-en")
        tap(driver, "[data-test=consent-accept]")
        wait(driver, "[data-test=child]")
        wait(driver, "[data-test=offline]")
        assert "offline" in driver.find_element(By.CSS_SELECTOR, "[data-test=offline]").text
        shot(driver, "offline-en")
        tap(driver, "[data-test=ask-leave]")
        wait(driver, "[data-test=leave-sheet]")
        shot(driver, "leave-sheet-en")
        tap(driver, "[data-test=leave-send]")
        wait_text(driver, "[data-test=notice]", "offline")
        wait(driver, "[data-test=request][data-status=waiting]")
        shot(driver, "waiting-en")
        # The desk comes back: everything waiting is applied, in order, once.
        report = desk_json(p["db"], "portal", "sync")
        assert (report["applied"], report["refused"]) == (2, 0), report
        wait(driver, "[data-test=request][data-status=accepted]", timeout=20)
        WebDriverWait(driver, 20).until(lambda d: not d.find_elements(By.CSS_SELECTOR, "[data-test=offline]"))
        tap(driver, "[data-test=lang]")
        wait_text(driver, "[data-test=request][data-status=accepted]", "已确认")
        shot(driver, "confirmed-zh")
        # 登录设备与账户: this phone by name, then the account deleted at once; the desk
        # applies its side when it next pulls.
        tap(driver, "[data-test=account-open]")
        wait_text(driver, "[data-test=session][data-current='1']", "本机")
        assert "Chrome" in driver.find_element(By.CSS_SELECTOR, "[data-test=session]").text
        shot(driver, "account-zh")
        tap(driver, "[data-test=account-delete]")
        wait(driver, "[data-test=delete-confirm]")
        shot(driver, "account-delete-confirm-zh")
        tap(driver, "[data-test=account-delete-yes]")
        wait(driver, "[data-test=signed-out]")
        wait_text(driver, "[data-test=notice]", "家长端账户已删除")
        shot(driver, "account-deleted-zh")
        report = desk_json(p["db"], "portal", "sync")
        assert (report["applied"], report["refused"]) == (1, 0), report
        db = sqlite3.connect(f"file:{p['db']}?mode=ro", uri=True)
        assert db.execute("SELECT by_whom FROM portal_signouts WHERE guardian_id = ?", (p["guardian"],)).fetchone() == ("parent",)
        assert db.execute("SELECT COUNT(*) FROM portal_consents WHERE guardian_id = ?", (p["guardian"],)).fetchone() == (0,)
        db.close()
        # A used invite opens nothing, in a second browser.
        other = phone(360)
        try:
            other.get(url)
            wait_text(other, "[data-test=notice]", "邀请链接已失效")
            wait(other, "[data-test=signed-out]")
            shot(other, "used-invite-zh")
        finally:
            other.quit()
    finally:
        driver.quit()


def open_portal_dialog(app, member_no, member_id, guardian_id):
    """The member found by number, its guardians' tab, the guardian's 家长端 dialog."""
    from selenium.webdriver.common.keys import Keys
    search = app.type("search-input", member_no)
    WebDriverWait(app.driver, 10).until(lambda d: any(r.get_attribute("data-id") == member_id for r in app.all("search-result")))
    search.send_keys(Keys.ENTER)
    app.click("member-tab-guardians")
    row = next(r for r in app.all("guardian-row") if r.get_attribute("data-id") == guardian_id)
    row.find_element("css selector", '[data-testid="guardian-portal-invite"]').click()


def test_the_manager_turns_the_portal_on_and_a_guardian_invited_at_the_desk_asks_for_leave(app, tmp_path):
    """In the real desk window: Settings → 家长端 on, an invite with its QR code from the
    member page; the desk's own background rounds publish, take the parent's leave from
    head office's inbox and answer it, with nobody pressing anything; a trial class the
    parent asks for stands in the coach's pending list marked as theirs, and the coach's
    yes reaches the parent's page."""
    from selenium.webdriver.common.keys import Keys
    ho = HeadOffice(tmp_path / "ho")
    ho.start()
    driver = None
    try:
        app.login("admin")
        app.call("sync_register", {"serverUrl": ho.url, "centre": "SH01", "username": HO_USER, "password": HO_PASSWORD, "deviceName": "前台电脑"})
        app.click("nav-settings")
        app.el("portal-panel")
        app.click("portal-enabled")
        app.click("portal-save")
        WebDriverWait(app.driver, 10).until(lambda d: app.sql("SELECT value FROM settings WHERE key = 'portal_enabled'") == [("1",)])
        assert app.text_of("portal-url").endswith("/p/SH01/")
        app.driver.execute_script("document.querySelector('[data-testid=portal-panel]').scrollIntoView()")
        app.shot("portal-settings-zh")

        (member_id, member_no, guardian_id), = app.sql(
            """SELECT m.id, m.member_no, mg.guardian_id FROM members m JOIN member_guardians mg ON mg.member_id = m.id
               WHERE m.status = 'active' AND m.member_no IS NOT NULL AND EXISTS (SELECT 1 FROM group_members gm JOIN class_sessions s ON s.group_id = gm.group_id
                     WHERE gm.member_id = m.id AND s.date > ? AND s.status = 'scheduled' AND gm.start_date <= s.date AND (gm.end_date IS NULL OR gm.end_date >= s.date))
               ORDER BY m.member_no LIMIT 1""", centre_today().isoformat())
        open_portal_dialog(app, member_no, member_id, guardian_id)
        app.click("portal-invite-make")
        app.el("portal-invite-qr")
        url = app.text_of("portal-invite-url")
        assert url.startswith(ho.url + "/p/SH01/#invite="), url
        app.shot("portal-invite-zh")
        app.driver.switch_to.active_element.send_keys(Keys.ESCAPE)
        app.gone("portal-invite-qr")

        driver = phone(390)
        pshot = Shots("portal-desk")
        # The desk's rounds bring the invite and the documents to head office by themselves.
        deadline = time.monotonic() + 45
        while True:
            driver.get(url)
            WebDriverWait(driver, 10).until(lambda d: d.find_elements(By.CSS_SELECTOR, "[data-test=consent], [data-test=signed-out]"))
            if driver.find_elements(By.CSS_SELECTOR, "[data-test=consent]"):
                break
            assert time.monotonic() < deadline, "the invite never reached head office"
            time.sleep(1)
        tap(driver, "[data-test=consent-accept]")
        wait(driver, "[data-test=child]", timeout=20)
        tap(driver, "[data-test=ask-leave]")
        wait(driver, "[data-test=leave-sheet]")
        tap(driver, "[data-test=leave-send]")
        wait_text(driver, "[data-test=request][data-status=accepted]", "已确认", timeout=40)
        leave = app.sql("SELECT via FROM leave_requests WHERE member_id = ? AND via = 'portal' AND withdrawn_at IS NULL", member_id)
        assert leave == [("portal",)], leave
        pshot(driver, "answered-by-the-desk-zh")

        # A trial class in another class: the family asks, the coach's pending list at the
        # desk marks it as the family's, the coach says yes, the family reads it.
        tap(driver, "[data-test=trial-open]")
        trial_session = wait(driver, "[data-test=trial-choose]").get_attribute("data-session")
        pshot(driver, "trial-pick-zh")
        tap(driver, f"[data-test=trial-choose][data-session='{trial_session}']")
        wait(driver, "[data-test=trial-sheet]")
        driver.find_element(By.CSS_SELECTOR, "[data-test=trial-note]").send_keys("想试试")
        tap(driver, "[data-test=trial-send]")
        wait_text(driver, "[data-test=request][data-status=accepted]", "等待教练确认", timeout=40)
        (trial_id,), = app.sql("SELECT id FROM trial_requests WHERE member_id = ? AND session_id = ? AND via = 'portal' AND status = 'requested'", member_id, trial_session)
        app.click("nav-timetable")
        app.click("tt-tab-trials")
        WebDriverWait(app.driver, 10).until(lambda d: any(r.get_attribute("data-id") == trial_id for r in app.all("trial-row")))
        row = next(r for r in app.all("trial-row") if r.get_attribute("data-id") == trial_id)
        assert row.find_element("css selector", '[data-testid="trial-from-portal"]').get_attribute("textContent") == "家长端申请"
        app.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", row)
        app.shot("trials-from-portal-zh")
        row.find_element("css selector", '[data-testid="trial-approve"]').click()
        WebDriverWait(app.driver, 10).until(lambda d: app.sql("SELECT status FROM trial_requests WHERE id = ?", trial_id) == [("approved",)])
        wait_text(driver, "[data-test=trial][data-status=approved]", "教练已同意", timeout=40)
        pshot(driver, "trial-approved-zh")
        app.driver.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
        search = app.type("search-input", member_no)
        WebDriverWait(app.driver, 10).until(lambda d: any(r.get_attribute("data-id") == member_id for r in app.all("search-result")))
        search.send_keys(Keys.ENTER)
        # The member's timeline: the consent and the leave, from the parent online.
        app.click("member-tab-timeline")
        # Only the rows of those two kinds are read: a round trip per row of a long timeline
        # would take longer than the wait.
        def by_parent(entity):
            rows = app.driver.find_elements(By.CSS_SELECTOR, f'[data-testid="timeline-entry"][data-entity="{entity}"] .who')
            # textContent: WebKit's driver leaves a clipped (overflow: hidden) span out of .text.
            return [r.get_attribute("textContent") for r in rows]
        WebDriverWait(app.driver, 10).until(lambda d: "家长（线上）" in by_parent("leave_request"))
        assert by_parent("portal_consent") == ["家长（线上）"], by_parent("portal_consent")
        assert "家长（线上）" in by_parent("trial_request"), by_parent("trial_request")
        # Every line is words: a change without its own sentence reads as the vocabulary's
        # label (满意度 · 登记评分), never as "satisfaction/record".
        whats = [w.get_attribute("textContent") for w in app.driver.find_elements(By.CSS_SELECTOR, '[data-testid="timeline-entry"] .what')]
        raw = [w for w in whats if re.fullmatch(r"[a-z_]+/[a-z_]+", w)]
        assert not raw, raw
        app.shot("timeline-parent-online-zh")
        # Settings → 家长端 counts what the desk handled.
        app.click("lang-switch")
        app.click("nav-settings")
        app.el("portal-panel")
        WebDriverWait(app.driver, 10).until(lambda d: int(app.text_of("portal-cursor") or 0) >= 2)
        app.driver.execute_script("document.querySelector('[data-testid=portal-panel]').scrollIntoView()")
        app.shot("portal-settings-en")
        # A lost phone: the member page signs the guardian out of the portal; with the
        # desk's next push head office refuses the session and the phone's page says so.
        open_portal_dialog(app, member_no, member_id, guardian_id)
        WebDriverWait(app.driver, 10).until(lambda d: "Privacy notice accepted" in app.text_of("portal-guardian"))
        # 家长视角: the family's view, read-only, with the member page's numbers; logged.
        app.click("portal-view-open")
        app.el("portal-view-child")
        child = next(c for c in app.all("portal-view-child") if c.get_attribute("data-id") == member_id)
        lessons = child.find_element("css selector", '[data-testid="portal-view-lessons"]').get_attribute("textContent")
        assert lessons == "不限" or lessons == "Unlimited" or lessons.isdigit(), lessons
        app.shot("portal-view-as-en")
        assert app.sql("SELECT COUNT(*) FROM change_log WHERE entity = 'portal_view' AND entity_id = ?", guardian_id) == [(1,)]
        app.driver.switch_to.active_element.send_keys(Keys.ESCAPE)
        app.gone("portal-view-child")
        app.click("portal-sign-out")
        app.el("portal-sign-out-confirm")
        app.shot("portal-sign-out-en")
        app.click("portal-sign-out-yes")
        WebDriverWait(app.driver, 10).until(lambda d: app.sql("SELECT by_whom FROM portal_signouts WHERE guardian_id = ?", guardian_id) == [("desk",)])
        wait(driver, "[data-test=signed-out]", timeout=40)
        pshot(driver, "signed-out-by-the-desk-zh")
    finally:
        if driver:
            driver.quit()
        ho.stop()

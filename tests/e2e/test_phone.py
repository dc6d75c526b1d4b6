"""The coach's phone 教练手机端 in a real Chromium, phone-sized, against the real phone
server (`centredesk phone-serve`, the server the desk app runs) over a demo centre:
pair with the code, sign in as the coach, take roll call for the coach's class (one
late, one absent, one on leave, a make-up added by initials, a comment), send it, class
over, sell goods at the mat — and the database holds what the desk would have written."""

import datetime
import socket
import sqlite3
import subprocess
import time

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from conftest import ARTIFACTS, CENTRE_TZ, CLI, centre_now, centre_today, cli, free_port


def phone(width: int, height: int = 844, trust_desk_certificate: bool = False):
    options = webdriver.ChromeOptions()
    if trust_desk_certificate:
        # What the coach does once after comparing the fingerprint: go on past the warning.
        options.set_capability("acceptInsecureCerts", True)
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--lang=zh-CN"):
        options.add_argument(arg)
    options.add_experimental_option("prefs", {"intl.accept_languages": "zh-CN,zh"})
    options.add_experimental_option("mobileEmulation", {"deviceMetrics": {"width": width, "height": height, "pixelRatio": 2}})
    return webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path="/usr/bin/chromedriver"))


class Shots:
    def __init__(self, name):
        self.name, self.n = name, 0

    def __call__(self, driver, label):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.n += 1
        time.sleep(0.3)
        driver.save_screenshot(str(ARTIFACTS / f"{self.name}-{self.n:02d}-{label}.png"))
        # Nothing wider than the phone: no sideways scrolling.
        wide = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
        assert wide <= 0, f"{label}: {wide} px wider than the screen"


def wait(driver, css, timeout=15):
    WebDriverWait(driver, timeout, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda d: any(e.is_displayed() for e in d.find_elements(By.CSS_SELECTOR, css)))
    return [e for e in driver.find_elements(By.CSS_SELECTOR, css) if e.is_displayed()][0]


def tap(driver, css):
    """A thumb's tap: the element scrolled clear of the sticky bars first."""
    e = driver.find_element(By.CSS_SELECTOR, css)
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", e)
    e.click()


def wait_text(driver, css, text, timeout=15):
    WebDriverWait(driver, timeout, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda d: any(text in e.text for e in d.find_elements(By.CSS_SELECTOR, css)))


@pytest.fixture
def centre(tmp_path):
    """A 200-member demo centre and jiaolian1's next class of 12 or more, with the phone
    server running five minutes into it."""
    db = tmp_path / "phone.db"
    cli("--db", str(db), "demo", "--members", "200", "--seed", "5")
    raw = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    # The coach's first class of at least 12 from the centre's day on (any instant of the
    # clock matrix lands on a day with one within the demo's generated weeks).
    session_id, day, start = raw.execute(
        """SELECT s.id, s.date, s.start_time FROM class_sessions s JOIN staff st ON st.id = s.coach_id
           WHERE s.date >= ? AND st.username = 'jiaolian1' AND s.status = 'scheduled'
             AND (SELECT COUNT(*) FROM group_members gm JOIN members m ON m.id = gm.member_id
                  WHERE gm.group_id = s.group_id AND m.status = 'active' AND gm.start_date <= s.date
                    AND (gm.end_date IS NULL OR gm.end_date >= s.date)) >= 12
           ORDER BY s.date, s.start_time LIMIT 1""",
        (centre_today().isoformat(),),
    ).fetchone()
    at = datetime.datetime.fromisoformat(f"{day}T{start}").replace(tzinfo=CENTRE_TZ) + datetime.timedelta(minutes=5)
    clock = at.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    server = subprocess.Popen(
        [str(CLI), "--db", str(db), "--clock", clock, "--user", "admin", "--password", "demo1234", "phone-serve", "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        url = server.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), url
        yield {"db": db, "url": url, "session_id": session_id, "raw": raw}
    finally:
        server.kill()
        server.wait(timeout=10)
        raw.close()


def test_a_coach_takes_roll_call_on_the_phone(centre):
    raw = centre["raw"]
    sid = centre["session_id"]
    d = phone(390)
    shot = Shots("test_a_coach_takes_roll_call_on_the_phone")
    try:
        d.get(centre["url"])
        code = wait(d, "#code")
        assert len(code.get_attribute("value")) == 8
        shot(d, "pair-zh-390")
        d.find_element(By.CSS_SELECTOR, "#device-name").send_keys("陈教练的手机")
        d.find_element(By.CSS_SELECTOR, "button.primary").click()
        wait(d, "#username").send_keys("jiaolian1")
        d.find_element(By.CSS_SELECTOR, "#password").send_keys("demo1234")
        shot(d, "sign-in-zh-390")
        d.find_element(By.CSS_SELECTOR, "button.primary").click()
        wait(d, f'button[data-session="{sid}"]')
        wait_text(d, "p.fresh", "数据更新于")
        shot(d, "today-zh-390")
        d.find_element(By.CSS_SELECTOR, f'button[data-session="{sid}"]').click()
        wait(d, "button[data-member]")
        rows = [r for r in d.find_elements(By.CSS_SELECTOR, "button.row[data-member]") if r.get_attribute("data-member")]
        shot(d, "roster-zh-390")
        # Everyone present, the second late (two taps), the third absent (three taps); the
        # child whose family asked for leave (the demo's yesterday) is shown on leave and
        # left alone.
        on_leave = {m for (m,) in raw.execute("SELECT member_id FROM leave_requests WHERE session_id = ? AND withdrawn_at IS NULL", (sid,))}
        assert len(on_leave) == 1, on_leave
        [away] = on_leave
        assert "请假" in d.find_element(By.CSS_SELECTOR, f'button[data-member="{away}"]').text
        members = [r.get_attribute("data-member") for r in rows if r.get_attribute("data-member") not in on_leave]
        assert len(members) >= 11 and len(members) + 1 >= 12, f"a class of {len(members) + 1}"
        taps = {members[1]: 2, members[2]: 3}
        for m in members:
            for _ in range(taps.get(m, 1)):
                tap(d, f'button[data-member="{m}"]')
        # A comment for the first child (a prompt, as a coach types it).
        tap(d, f'button[data-member="{members[0]}"] + button.comment-btn')
        alert = d.switch_to.alert
        alert.send_keys("今天很专注")
        alert.accept()
        # A make-up found by initials: a member of another class.
        name, initials, makeup = raw.execute(
            """SELECT m.name, d.terms, m.id FROM members m JOIN search_doc d ON d.entity_id = m.id
               WHERE m.status = 'active' AND m.id NOT IN (SELECT member_id FROM group_members gm JOIN class_sessions s ON s.group_id = gm.group_id WHERE s.id = ?)
               AND length(m.name) = 3 LIMIT 1""",
            (sid,),
        ).fetchone()
        initials = initials.split()[5]  # the name's characters, the name, full pinyin, then initials
        tap(d, "#makeup")
        d.find_element(By.CSS_SELECTOR, "#makeup").send_keys(initials)
        wait_text(d, ".hits", name)
        hit = [h for h in d.find_elements(By.CSS_SELECTOR, ".hits button.row") if name in h.text][0]
        d.execute_script("arguments[0].scrollIntoView({block: 'center'})", hit)
        hit.click()
        wait(d, f'button[data-member="{makeup}"]')
        shot(d, "roster-marked-zh-390")
        tap(d, "[data-test=save]")
        wait_text(d, ".notice", "已保存")
        shot(d, "roster-saved-zh-390")
        marks = dict(raw.execute("SELECT member_id, mark FROM attendance WHERE session_id = ?", (sid,)).fetchall())
        assert marks[members[0]] == "present" and marks[members[1]] == "late" and marks[members[2]] == "absent"
        assert marks[makeup] == "present"
        assert away not in marks  # left alone: the leave stands, no lesson taken
        assert len(marks) == len(members) + 1
        comment = raw.execute("SELECT comment FROM attendance WHERE session_id = ? AND member_id = ?", (sid, members[0])).fetchone()[0]
        assert comment == "今天很专注"
        arrivals = raw.execute("SELECT COUNT(DISTINCT member_id) FROM notices WHERE session_id = ? AND kind = 'arrival'", (sid,)).fetchone()[0]
        came = sum(1 for m in marks.values() if m in ("present", "late"))
        assert arrivals == came == len(members)  # everyone but the absent child and the one on leave, and the make-up
        assert raw.execute("SELECT COUNT(*) FROM requests WHERE kind = 'roll_call'").fetchone()[0] == 1
        # Class over: the departure notices.
        tap(d, "[data-test=dismiss]")
        wait_text(d, ".notice", "已下课")
        departures = raw.execute("SELECT COUNT(DISTINCT member_id) FROM notices WHERE session_id = ? AND kind = 'departure'", (sid,)).fetchone()[0]
        assert departures == arrivals
        log = raw.execute("SELECT op FROM change_log WHERE entity = 'request' ORDER BY seq").fetchall()
        assert log == [("accept",), ("accept",)]
        # A sale at the mat: the late child buys an item in cash the coach takes, handed
        # over at once.
        tap(d, "header#bar button")  # back to the day
        wait(d, "[data-test=sell]")
        tap(d, "[data-test=sell]")
        buyer_name, = raw.execute("SELECT name FROM members WHERE id = ?", (members[1],)).fetchone()
        wait(d, "#buyer").send_keys(buyer_name)
        wait_text(d, ".hits", buyer_name)
        hit = [h for h in d.find_elements(By.CSS_SELECTOR, ".hits button.row") if buyer_name in h.text][0]
        hit.click()
        wait(d, "[data-test=buyer]")
        goods_id, goods_name, price = raw.execute("SELECT id, name, price FROM goods WHERE stock > 1 AND archived = 0 ORDER BY name LIMIT 1").fetchone()
        tap(d, f'button[data-goods="{goods_id}"]')
        wait(d, "[data-test=method-cash]")
        tap(d, "[data-test=method-cash]")
        shot(d, "sale-zh-390")
        confirm = d.find_element(By.CSS_SELECTOR, "[data-test=confirm-sale]")
        assert f"¥{price / 100:.2f}" in confirm.text, confirm.text
        tap(d, "[data-test=confirm-sale]")
        wait_text(d, ".notice", "已售出")
        shot(d, "sold-zh-390")
        sold = raw.execute(
            """SELECT g.method, g.amount, g.delivered_at IS NOT NULL, st.username FROM goods_sales g JOIN staff st ON st.id = g.staff_id
               WHERE g.member_id = ? AND g.goods_id = ?""", (members[1], goods_id)).fetchall()
        assert sold == [("cash", price, 1, "jiaolian1")], sold
        assert raw.execute("SELECT COUNT(*) FROM requests WHERE kind = 'goods_sale'").fetchone()[0] == 1
        tap(d, f'button[data-session="{sid}"]')
        wait(d, "button[data-member]")
        # English, at 390 and at 360 px (the same phone, narrower).
        d.find_element(By.CSS_SELECTOR, "[data-test=lang]").click()
        wait_text(d, "p.fresh", "data as of")
        shot(d, "roster-en-390")
        d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": 360, "height": 740, "deviceScaleFactor": 2, "mobile": True})
        d.refresh()
        wait(d, f'button[data-session="{sid}"]')
        shot(d, "today-en-360")
        d.find_element(By.CSS_SELECTOR, f'button[data-session="{sid}"]').click()
        wait(d, "button[data-member]")
        shot(d, "roster-en-360")
        d.find_element(By.CSS_SELECTOR, "[data-test=lang]").click()
        wait_text(d, "p.fresh", "数据更新于")
        shot(d, "roster-zh-360")
    finally:
        d.quit()


def test_the_desk_turns_phone_roll_call_on_pairs_a_phone_and_revokes_it(app):
    """In the real window: Settings → 手机点名 off by default (nothing listens), on at a
    port, a pairing QR code a phone opens, the phone in the list with who signed in, and
    revoked — refused at the phone's next call."""
    port = free_port()
    app.login("admin")
    app.click("nav-settings")
    assert app.el("phone-status").get_attribute("data-running") == "false"
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", 8765)) != 0, "off by default: nothing listens"
    app.type("phone-port", str(port))
    app.click("phone-toggle")
    app.wait_text("phone-status", lambda t: t == "已开启")
    assert app.text_of("phone-urls") == f"http://127.0.0.1:{port}"
    app.click("phone-pair")
    code = app.wait_text("phone-code", lambda t: len(t) == 8)
    url = app.text_of("phone-pair-url")
    assert url == f"http://127.0.0.1:{port}/pair?code={code}"
    assert "<svg" in app.el("phone-qr").get_attribute("innerHTML")
    app.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", app.el("phone-pairing"))
    app.shot("pairing-zh")
    d = phone(390)
    shot = Shots("test_the_desk_turns_phone_roll_call_on_pairs_a_phone_and_revokes_it-phone")
    try:
        d.get(url)
        wait(d, "#code")
        d.find_element(By.CSS_SELECTOR, "#device-name").send_keys("赵教练的手机")
        d.find_element(By.CSS_SELECTOR, "button.primary").click()
        # 赵磊 teaches on every weekday in the demo, so the phone has a class today at any instant.
        wait(d, "#username").send_keys("jiaolian2")
        d.find_element(By.CSS_SELECTOR, "#password").send_keys("demo1234")
        d.find_element(By.CSS_SELECTOR, "button.primary").click()
        wait_text(d, "h1", "赵磊")
        # A trial waiting for the coach and a sale to hand over, made at the desk.
        [(session_id, child)] = app.sql(
            """SELECT s.id, gm.member_id FROM class_sessions s JOIN class_groups g ON g.id = s.group_id
               JOIN staff st ON st.id = g.coach_id JOIN group_members gm ON gm.group_id = g.id AND gm.end_date IS NULL
               JOIN members m ON m.id = gm.member_id AND m.status = 'active'
               WHERE st.username = 'jiaolian2' AND s.coach_id = st.id AND s.status = 'scheduled' AND s.date > ?
               ORDER BY s.date, s.start_time LIMIT 1""",
            centre_today().isoformat(),
        )
        trial = app.call("trial_request", {"input": {"session_id": session_id, "lead_id": None, "member_id": child, "note": ""}})
        [(goods_id,)] = app.sql("SELECT id FROM goods WHERE stock > 0 AND archived = 0 ORDER BY name LIMIT 1")
        sale = app.call("goods_sell", {"input": {"goods_id": goods_id, "quantity": 1, "member_id": child, "method": "cash", "delivered": False, "note": ""}})
        d.refresh()
        wait(d, f'[data-trial-request="{trial["id"]}"]')
        wait(d, f'[data-sale="{sale["id"]}"]')
        d.execute_script("window.scrollTo(0, document.body.scrollHeight)")
        shot(d, "trial-and-hand-over-zh-390")
        tap(d, f'[data-trial-request="{trial["id"]}"] [data-test=approve]')
        wait_text(d, ".notice", "已同意试课")
        assert app.sql("SELECT status FROM trial_requests WHERE id = ?", trial["id"]) == [("approved",)]
        tap(d, f'[data-sale="{sale["id"]}"] [data-test=hand-over]')
        wait_text(d, ".notice", "已发放")
        assert app.sql("SELECT delivered_at IS NOT NULL FROM goods_sales WHERE id = ?", sale["id"]) == [(1,)]
        # A roll call from the phone before the class: the desk's rule asks first. Today's
        # first class still more than the 30-minute window away, if there is one (at a late
        # instant every class today has begun: the mark is saved without asking).
        soon = (centre_now() + datetime.timedelta(minutes=30)).strftime("%H:%M")
        ahead = app.sql(
            """SELECT s.id FROM class_sessions s JOIN staff st ON st.id = s.coach_id
               WHERE st.username = 'jiaolian2' AND s.date = ? AND s.status = 'scheduled' AND s.start_time > ?
               ORDER BY s.start_time LIMIT 1""",
            centre_today().isoformat(), soon,
        )
        wait(d, "button[data-session]")
        today_sid = ahead[0][0] if ahead else d.find_element(By.CSS_SELECTOR, "button[data-session]").get_attribute("data-session")
        tap(d, f'button[data-session="{today_sid}"]')
        wait(d, "button.row[data-member]")
        away = {m for (m,) in app.sql("SELECT member_id FROM leave_requests WHERE session_id = ? AND withdrawn_at IS NULL", today_sid)}
        kids = [r.get_attribute("data-member") for r in d.find_elements(By.CSS_SELECTOR, "button.row[data-member]") if r.get_attribute("data-member") and r.get_attribute("data-member") not in away][:2]
        tap(d, f'button[data-member="{kids[0]}"]')
        tap(d, f'button[data-member="{kids[1]}"]')
        tap(d, f'button[data-member="{kids[1]}"]')
        tap(d, "[data-test=save]")
        if ahead:
            WebDriverWait(d, 10).until(lambda dr: _alert(dr))
            d.switch_to.alert.accept()
        wait_text(d, ".notice", "已保存")
        assert dict(app.sql("SELECT member_id, mark FROM attendance WHERE session_id = ?", today_sid)) == {kids[0]: "present", kids[1]: "late"}
        tap(d, "[data-test=lang]")
        wait_text(d, "p.fresh", "data as of")
        # The desk lists the phone, with who signed in on it.
        app.click("phone-pair-done")
        app.wait_text("phone-device", lambda t: "赵教练的手机" in t and "赵磊" in t)
        app.click("lang-switch")
        app.wait_text("phone-status", lambda t: t == "On")
        app.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", app.el("phone-devices"))
        app.shot("devices-en")
        app.click("phone-revoke")
        app.wait_text("phone-device", lambda t: "revoked" in t)
        # The phone's next call is refused: it is back at pairing.
        d.refresh()
        wait(d, "#code")
        wait_text(d, "h1", "Pair this phone")
    finally:
        d.quit()
    # Off again: the port is closed.
    app.click("phone-toggle")
    app.wait_text("phone-status", lambda t: t == "Off")
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0
    # HTTPS: the desk's own certificate, its fingerprint beside the address and the code.
    app.click("phone-https")
    app.click("phone-toggle")
    app.wait_text("phone-status", lambda t: t == "On")
    assert app.text_of("phone-urls") == f"https://127.0.0.1:{port}"
    fingerprint = app.text_of("phone-fingerprint")
    assert len(fingerprint) == 95 and fingerprint.count(":") == 31, fingerprint
    app.click("phone-pair")
    code = app.wait_text("phone-code", lambda t: len(t) == 8)
    url = app.text_of("phone-pair-url")
    assert url == f"https://127.0.0.1:{port}/pair?code={code}"
    assert app.text_of("phone-pair-fingerprint") == fingerprint
    app.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", app.el("phone-pairing"))
    app.shot("pairing-https-en")
    d = phone(360, trust_desk_certificate=True)
    try:
        d.get(url)
        wait(d, "#code")
        d.find_element(By.CSS_SELECTOR, "button.primary").click()
        wait(d, "#username").send_keys("jiaolian1")
        d.find_element(By.CSS_SELECTOR, "#password").send_keys("demo1234")
        d.find_element(By.CSS_SELECTOR, "button.primary").click()
        wait_text(d, "h1", "陈刚")
        shot(d, "https-today-zh-360")
        ours = {c["name"]: c for c in d.get_cookies() if c["name"].startswith("cd_")}
        assert set(ours) == {"cd_device", "cd_session"} and all(c["secure"] and c["httpOnly"] for c in ours.values()), ours
    finally:
        d.quit()
    app.click("phone-pair-done")
    app.click("phone-toggle")
    app.wait_text("phone-status", lambda t: t == "Off")
    # The desk's own roll-call window shows the phone's marks.
    app.el("nav-timetable").click()
    app.click("tt-tab-week")
    block = app.driver.find_element(By.CSS_SELECTOR, f'[data-testid="tt-session"][data-session-id="{today_sid}"]')
    block.send_keys(Keys.ENTER)
    app.el("rollcall")
    WebDriverWait(app.driver, 10, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda dr: dr.find_element(By.CSS_SELECTOR, f'[data-testid="rc-row"][data-member-id="{kids[1]}"]').get_attribute("data-mark") == "late")
    assert app.driver.find_element(By.CSS_SELECTOR, f'[data-testid="rc-row"][data-member-id="{kids[0]}"]').get_attribute("data-mark") == "present"
    app.shot("desk-roll-call-from-phone-en")


def _alert(driver):
    try:
        driver.switch_to.alert
        return True
    except Exception:
        return False

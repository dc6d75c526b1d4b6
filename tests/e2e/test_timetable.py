"""Timetable and roll call in the real app, from an empty centre: the manager sets up a
room, a class with three members (each on a lesson package), a weekly slot, generates a
month of sessions; a parent rings in leave from the member page; the roll call marks
one late, adds a make-up student and is saved in one go; the lesson count drops by one;
the roster prints to a PDF that names the students."""

import datetime
import shutil
import subprocess

from conftest import CENTRE_TZ, centre_now
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.support.ui import Select, WebDriverWait

MEMBERS = ["张小明", "李小红", "王小刚"]
MAKEUP = "赵补课"


@pytest.fixture
def demo_db(tmp_path):
    """This test starts from nothing: a database file that does not exist yet (first run)."""
    return tmp_path / "fresh.db"


def wait(app, predicate, timeout=10):
    # Lists re-render while they load (the outbox refreshes itself); a row that went stale
    # between finding and reading it is simply looked for again.
    return WebDriverWait(app.driver, timeout, ignored_exceptions=(StaleElementReferenceException,)).until(lambda d: predicate())


def first_run(app):
    app.el("first-centre", timeout=20)
    app.type("first-centre", "星星跆拳道馆")
    app.type("first-username", "admin")
    app.type("first-display", "刘校长")
    app.type("first-password", "demo1234")
    app.type("first-password2", "demo1234")
    app.click("first-submit")
    app.el("nav-timetable", timeout=15)


def member_with_lessons(app, name, package_id, phone):
    """Registers, approves and enrols a member (the desk's own flow is covered in test_front_desk)."""
    m = app.call("member_apply", {"input": {
        "name": name, "gender": "M", "notes": "", "referred_by": None,
        "guardian": {"name": name[0] + "妈妈", "relation": "妈妈", "phone": phone, "wechat": ""},
    }})
    app.call("member_approve", {"memberId": m["id"], "input": {"birthday": "2017-05-01", "school": "", "course_interest": "跆拳道"}})
    app.call("contract_enrol", {"input": {
        "member_id": m["id"], "package_id": package_id, "discount": "", "start_date": None,
        "consultant_id": None, "renewal_of": None, "notes": "",
    }})
    return m["id"]


def pick(app, input_testid, text, wanted_id):
    """Types into an EntityPicker and takes the result with that id."""
    app.type(input_testid, text)
    WebDriverWait(app.driver, 5).until(
        lambda d: any(r.get_attribute("data-id") == wanted_id for r in app.all("picker-result"))
    )
    next(r for r in app.all("picker-result") if r.get_attribute("data-id") == wanted_id).click()


def open_member(app, name, member_id):
    search = app.type("search-input", name)
    WebDriverWait(app.driver, 5).until(
        lambda d: any(r.get_attribute("data-id") == member_id for r in app.all("search-result"))
    )
    search.send_keys(Keys.ENTER)
    app.wait_text("member-title", lambda t: name in t)


def row_of(app, member_id):
    return app.driver.find_element(By.CSS_SELECTOR, f'[data-testid="rc-row"][data-member-id="{member_id}"]')


def focus_row(app, member_id):
    row_of(app, member_id).find_element(By.CSS_SELECTOR, ".rc-name").click()
    assert active(app).get_attribute("data-member-id") == member_id


def active(app):
    return app.driver.switch_to.active_element


def test_timetable_leave_roll_call_and_print(app):
    first_run(app)

    # Packages and members come through the command API; the timetable is set up by hand.
    pkg = app.call("package_create", {"input": {
        "name": "10课时包", "kind": "lessons", "lessons": 10, "validity_days": 180, "term_months": None, "price": "1500",
    }})
    ids = [member_with_lessons(app, n, pkg["id"], f"1390000000{i}") for i, n in enumerate(MEMBERS)]
    makeup_id = member_with_lessons(app, MAKEUP, pkg["id"], "13900000009")

    app.click("nav-timetable")
    app.el("tt-week")
    app.click("tt-tab-rooms")
    app.type("tt-room-name", "一号教室")
    app.type("tt-room-capacity", "20")
    app.click("tt-room-save")
    wait(app, lambda: len(app.all("tt-room-row")) == 1)

    # A class group; a bad capacity is refused next to the form.
    app.click("tt-tab-groups")
    app.type("tt-group-name", "周末初级班")
    app.type("tt-group-course", "跆拳道")
    app.type("tt-group-level", "白带")
    app.type("tt-group-capacity", "0")
    app.click("tt-group-save")
    assert app.el("form-error").text, "capacity 0 is refused"
    assert app.sql("SELECT COUNT(*) FROM class_groups") == [(0,)]
    app.type("tt-group-capacity", "12")
    app.click("tt-group-save")
    wait(app, lambda: len(app.all("tt-group-row")) == 1)
    (group_id,), = app.sql("SELECT id FROM class_groups")
    app.el("tt-group-row").find_element(By.CSS_SELECTOR, "td").click()
    app.wait_text("group-title", lambda t: "周末初级班" in t)
    for name, mid in zip(MEMBERS, ids):
        pick(app, "group-member-search", name, mid)
        app.el("group-member-picked")
        app.click("group-member-add")
        wait(app, lambda: any(r.get_attribute("data-member-id") == mid for r in app.all("group-member-row")))
    assert len(app.all("group-member-row")) == 3
    app.shot("group")

    # A weekly slot on today's weekday (in the centre's time zone: read from the generator).
    active(app).send_keys(Keys.ESCAPE)
    app.el("tt-tab-slots").click()
    app.click("tt-tab-calendar")
    today = app.el("tt-gen-from").get_attribute("value")
    start = datetime.date.fromisoformat(today)
    app.click("tt-tab-slots")
    app.click("tt-slot-new")
    Select(app.el("tt-slot-weekday")).select_by_value(str(start.isoweekday()))
    app.type("tt-slot-start", "23:00")
    app.type("tt-slot-end", "22:00")
    Select(app.el("tt-slot-group")).select_by_value(group_id)
    Select(app.el("tt-slot-room")).select_by_index(1)
    Select(app.el("tt-slot-coach")).select_by_index(1)
    app.click("tt-slot-save")
    error = app.el("form-error").text
    assert error, "end before start is refused"
    assert app.el("tt-slot-end").get_attribute("aria-invalid") == "true"
    app.type("tt-slot-end", "23:50")
    app.click("tt-slot-save")
    wait(app, lambda: len(app.all("tt-slot-row")) == 1)

    # Generate a month.
    app.click("tt-tab-calendar")
    app.type("tt-gen-to", (start + datetime.timedelta(days=30)).isoformat())
    app.click("tt-gen-run")
    summary = app.wait_text("tt-gen-summary", lambda t: t != "")
    assert "4" in summary or "5" in summary, summary
    sessions = app.sql("SELECT id, date FROM class_sessions ORDER BY date")
    assert len(sessions) in (4, 5), sessions
    session_id, session_date = sessions[0]
    assert session_date == today

    app.click("tt-tab-week")
    wait(app, lambda: any(b.get_attribute("data-session-id") == session_id for b in app.all("tt-session")))
    app.shot("week")
    app.click("tt-print-week")
    WebDriverWait(app.driver, 30).until(lambda d: app.all("print-path") or app.all("print-error"))
    assert not app.all("print-error"), app.text_of("print-error")
    assert Path(app.el("print-path").get_attribute("data-path")).exists()
    app.click("tt-by-coach")
    app.click("tt-tab-day")
    wait(app, lambda: len(app.all("tt-day-row")) == 1)

    # The third member's parent rings in leave for today, from the member page.
    open_member(app, MEMBERS[2], ids[2])
    app.click("leave-open")
    box = WebDriverWait(app.driver, 10).until(
        lambda d: d.find_element(By.CSS_SELECTOR, f'[data-testid="leave-session"][data-session-id="{session_id}"]')
    )
    box.click()
    Select(app.el("leave-via")).select_by_value("phone")
    app.type("leave-note", "发烧")
    app.click("leave-submit")
    confirmation = app.wait_text("leave-confirmation", lambda t: "请假" in t)
    assert MEMBERS[2] in confirmation, confirmation
    app.shot("leave")
    app.click("leave-close")
    assert app.sql("SELECT via, note FROM leave_requests WHERE member_id = ? AND session_id = ?", ids[2], session_id) == [("phone", "发烧")]

    open_member(app, MEMBERS[0], ids[0])
    before = int(app.text_of("lessons-remaining"))
    assert before == 10

    # The roll call: open it from the week view (Enter on the focused class).
    app.el("nav-timetable").click()
    app.click("tt-tab-week")
    block = app.driver.find_element(By.CSS_SELECTOR, f'[data-testid="tt-session"][data-session-id="{session_id}"]')
    block.send_keys(Keys.ENTER)
    app.el("rollcall")
    wait(app, lambda: len(app.all("rc-row")) == 3)
    assert row_of(app, ids[2]).get_attribute("data-mark") == "leave"
    assert row_of(app, ids[2]).find_elements(By.CSS_SELECTOR, '[data-testid="rc-flag-leave"]')

    # First present (Space), second late (L), from the keyboard; a comment for the first.
    focus_row(app, ids[0])
    active(app).send_keys(Keys.SPACE)
    assert row_of(app, ids[0]).get_attribute("data-mark") == "present"
    active(app).send_keys(Keys.ENTER)
    assert active(app).get_attribute("data-testid") == "rc-comment"
    active(app).send_keys("踢腿有力")
    # Comment done: back on its own row (never onto the next child, whose mark the next key
    # would change), then ↓ to the next.
    active(app).send_keys(Keys.ENTER)
    assert active(app).get_attribute("data-member-id") == ids[0] or row_of(app, ids[0]).find_elements(By.CSS_SELECTOR, ":focus"), "focus stays on the first child"
    active(app).send_keys(Keys.ARROW_DOWN)
    active(app).send_keys("l")
    assert row_of(app, ids[1]).get_attribute("data-mark") == "late"

    # A make-up student from another class.
    app.click("rc-add-makeup")
    search = app.type("rc-makeup-search", MAKEUP)
    WebDriverWait(app.driver, 5).until(
        lambda d: any(r.get_attribute("data-id") == makeup_id for r in app.all("picker-result"))
    )
    search.send_keys(Keys.ENTER)
    wait(app, lambda: len(app.all("rc-row")) == 4)
    assert row_of(app, makeup_id).get_attribute("data-mark") == "makeup"
    app.shot("roll-call")

    active(app).send_keys(Keys.CONTROL, "s")
    # The class is at 23:00 today: saving more than 30 minutes before it asks first.
    starts = datetime.datetime.combine(datetime.date.fromisoformat(today), datetime.time(23, 0), tzinfo=CENTRE_TZ)
    if centre_now() < starts - datetime.timedelta(minutes=30):
        app.el("confirm-ok")
        assert "23:00" in app.el("confirm-dialog").text, app.el("confirm-dialog").text
        app.shot("roll-call-early")
        app.click("confirm-ok")
    result = app.el("rc-result")
    assert result.get_attribute("data-consumed") == "3", result.text
    app.shot("roll-call-saved")
    # The same screen in English: nothing left untranslated.
    app.click("lang-switch")
    WebDriverWait(app.driver, 5).until(lambda d: d.find_element(By.CSS_SELECTOR, "html").get_attribute("lang") == "en")
    assert app.text_of("rc-save").startswith("Save roll call")
    app.shot("roll-call-en")
    app.click("lang-switch")
    WebDriverWait(app.driver, 5).until(lambda d: d.find_element(By.CSS_SELECTOR, "html").get_attribute("lang") == "zh-CN")
    marks = dict(app.sql("SELECT member_id, mark FROM attendance WHERE session_id = ?", session_id))
    assert marks == {ids[0]: "present", ids[1]: "late", makeup_id: "makeup"}, marks
    assert app.sql("SELECT comment FROM attendance WHERE member_id = ?", ids[0]) == [("踢腿有力",)]
    # the saved roster comes back from the core, still with the leave
    wait(app, lambda: len(app.all("rc-row")) == 4)
    assert row_of(app, ids[2]).get_attribute("data-mark") == "leave"

    # One lesson fewer on the member page.
    open_member(app, MEMBERS[0], ids[0])
    app.wait_text("lessons-remaining", lambda t: t == str(before - 1))

    # Back to the roll call and print it.
    active(app).send_keys(Keys.ESCAPE)
    app.el("rollcall")
    app.click("rc-print")
    WebDriverWait(app.driver, 30).until(lambda d: app.all("print-path") or app.all("print-error"))
    assert not app.all("print-error"), app.text_of("print-error")
    path = app.el("print-path").get_attribute("data-path")
    app.shot("printed")
    assert Path(path).exists(), path
    assert shutil.which("pdftotext"), "pdftotext (poppler-utils) is needed"
    text = subprocess.run(["pdftotext", "-layout", path, "-"], capture_output=True, text=True, check=True).stdout
    assert MEMBERS[0] in text, text

    # A trial class for a lead, asked for on the lead page and approved in "trials".
    source = app.call("settings_get", {})["lead_sources"][0]
    lead = app.call("lead_create", {"input": {
        "name": "孙试课", "contact_name": "孙爸爸", "phone": "13700000001", "wechat": "", "gender": None, "birthday": None,
        "source": source, "consultant_id": None, "man_money": False, "man_authority": False, "man_need": True,
        "needs": "", "notes": "", "next_follow_up": None,
    }})
    next_session = sessions[1][0]
    search = app.type("search-input", "孙试课")
    WebDriverWait(app.driver, 5).until(lambda d: any(r.get_attribute("data-id") == lead["id"] for r in app.all("search-result")))
    search.send_keys(Keys.ENTER)
    app.wait_text("lead-title", lambda t: "孙试课" in t)
    app.click("trial-request")
    WebDriverWait(app.driver, 10).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, f'[data-testid="tr-session"] option[value="{next_session}"]')
    )
    Select(app.el("tr-session")).select_by_value(next_session)
    app.type("tr-note", "想先体验一次")
    app.click("tr-submit")
    app.gone("trial-dialog")
    app.click("nav-timetable")
    app.click("tt-tab-trials")
    wait(app, lambda: len(app.all("trial-row")) == 1)
    assert app.text_of("trial-capacity") == "3/12"
    app.shot("trials")
    app.click("trial-approve")
    wait(app, lambda: len(app.all("trial-row")) == 0)
    assert app.sql("SELECT status FROM trial_requests WHERE lead_id = ?", lead["id"]) == [("approved",)]
    app.click("tt-tab-notices")
    wait(app, lambda: any(r.get_attribute("data-kind") == "trial_approved" for r in app.all("notice-row")))
    app.shot("notices")

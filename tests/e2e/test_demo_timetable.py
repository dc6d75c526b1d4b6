"""The demo centre's timetable as its people see it: a coach's week shows only his own
classes, opens a roll call that lists the class, and prints the week sheet for the
notice board."""

import shutil
import subprocess
from pathlib import Path

from selenium.webdriver.common.keys import Keys


def test_a_coach_sees_his_week_takes_roll_call_and_prints_the_week(app):
    app.el("login-username", timeout=20)
    app.login("jiaolian1")
    (coach_id,), = app.sql("SELECT id FROM staff WHERE username = 'jiaolian1'")
    app.click("nav-timetable")
    app.el("tt-week")
    blocks = app.all("tt-session")
    # The demo's base timetable gives every coach several classes a week.
    assert len(blocks) >= 3, len(blocks)
    ids = [b.get_attribute("data-session-id") for b in blocks]
    coaches = {row[0] for i in ids for row in app.sql("SELECT coach_id FROM class_sessions WHERE id = ?", i)}
    assert coaches == {coach_id}, coaches
    app.click("tt-by-coach")
    app.shot("coach-week")

    # The first class of the week: its roll call lists the group's members.
    first = app.all("tt-session")[0]
    ids[0] = first.get_attribute("data-session-id")
    first.click()
    app.el("rc-row")
    rows = app.all("rc-row")
    (group_id, date), = app.sql("SELECT group_id, date FROM class_sessions WHERE id = ?", ids[0])
    (expected,), = app.sql(
        "SELECT COUNT(*) FROM group_members gm JOIN members m ON m.id = gm.member_id WHERE gm.group_id = ? "
        "AND gm.start_date <= ? AND (gm.end_date IS NULL OR gm.end_date >= ?) AND m.status = 'active'",
        group_id, date, date,
    )
    assert expected > 0 and len(rows) >= expected, (len(rows), expected)
    app.shot("coach-roll-call")
    app.driver.switch_to.active_element.send_keys(Keys.ESCAPE)

    app.el("tt-week")
    app.click("tt-print-week")
    path = app.el("print-path", timeout=20).get_attribute("data-path")
    assert Path(path).exists(), path
    assert shutil.which("pdftotext")
    text = subprocess.run(["pdftotext", "-layout", path, "-"], capture_output=True, text=True, check=True).stdout.replace(" ", "")
    (group_name,), = app.sql("SELECT name FROM class_groups WHERE id = ?", group_id)
    assert "课表" in text and "教练" in text and group_name in text, text

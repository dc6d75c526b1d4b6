"""What an installed desk does on its first start and on a second one: the first-run
screen offers an empty centre or the demo; the demo is made, its account is filled in on
the login screen, and it searches; starting the app again on the same database brings the
open window forward and ends instead of opening a second desk."""

import subprocess
import time

import pytest
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from conftest import APP, app_env, clock_arg


@pytest.fixture
def demo_db(tmp_path):
    """Nothing yet: the database file does not exist (first run)."""
    return tmp_path / "fresh.db"


def test_first_run_with_the_demo_then_log_in_and_search(app):
    app.el("first-demo", timeout=20)
    # Both choices on one screen, the empty centre first.
    assert app.el("first-centre").is_displayed()
    app.shot("first-run")
    app.click("first-demo")
    hint = app.wait_text("login-demo-hint", lambda t: "admin" in t, timeout=120)
    assert "demo1234" in hint, hint
    assert app.el("login-username").get_attribute("value") == "admin"
    app.shot("login-demo")
    app.click("login-submit")
    app.el("nav-members", timeout=15)
    (members,) = app.sql("SELECT COUNT(*) FROM members")[0]
    assert members >= 120, members  # 120 enrolled, and the leads who enrolled since
    (name,) = app.sql("SELECT value FROM settings WHERE key = 'centre_name'")[0]
    assert "示范" in name, name
    # The year of history ends at the instant the app runs at: nothing from its future.
    (latest,) = app.sql("SELECT MAX(at) FROM change_log")[0]
    assert latest <= clock_arg(60), latest
    app.shot("home")
    (member_id, member_name) = app.sql("SELECT id, name FROM members WHERE member_no IS NOT NULL ORDER BY member_no LIMIT 1")[0]
    app.type("search-input", member_name)
    WebDriverWait(app.driver, 5).until(lambda d: any(r.get_attribute("data-id") == member_id for r in app.all("search-result")))
    app.shot("search")
    # Asked a second time (the screen is gone; the core refuses: one centre per database).
    refused = app.invoke("first_run_demo", {})
    assert refused.get("err", {}).get("code") == "conflict.already_set_up", refused


def test_a_second_start_on_the_same_database_brings_the_first_window_forward(app, home_dir):
    app.el("first-centre", timeout=20)
    started = time.monotonic()
    second = subprocess.run(
        [str(APP), "--db", str(app.db), "--clock", clock_arg()],
        env=app_env(home_dir),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert second.returncode == 0, second.stderr
    assert "already open" in second.stdout, (second.stdout, second.stderr)
    assert time.monotonic() - started < 30
    # The first window is still there and still works.
    app.type("first-centre", "星星跆拳道馆" + Keys.TAB)
    assert app.el("first-centre").get_attribute("value") == "星星跆拳道馆"

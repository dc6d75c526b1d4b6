"""The .deb as a centre gets it (run by scripts/package.sh, as root, with E2E_PACKAGE set):
installed with dpkg, started from its installed path, upgraded over the previous release
with the data kept, migrated and backed up first, removed and purged with the data kept;
and a fresh install's first run with the demo, login and search. The installed app is
driven through tauri-driver like the debug build in the suite, at the suite's instant."""

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from selenium.webdriver.support.ui import WebDriverWait

from conftest import ROOT, default_db, running_app

PREVIOUS_DEB = Path(os.environ.get("E2E_PREVIOUS_DEB", "target/package/previous.deb"))
CURRENT_DEB = Path(os.environ.get("E2E_CURRENT_DEB", "target/package/current.deb"))
SCHEMA_1 = ROOT / "fixtures" / "db" / "schema-1.db"


def field(deb: Path, name: str) -> str:
    return subprocess.run(["dpkg-deb", "-f", str(deb), name], check=True, capture_output=True, text=True).stdout.strip()


PACKAGE = field(CURRENT_DEB, "Package")


def installed_binary() -> Path:
    """The app's executable as the package installed it (under /usr/bin)."""
    files = subprocess.run(["dpkg", "-L", PACKAGE], check=True, capture_output=True, text=True).stdout.split()
    (binary,) = [f for f in files if f.startswith("/usr/bin/")]
    return Path(binary)


def dpkg(*args: str):
    subprocess.run(["dpkg", *args], check=True, stdout=subprocess.DEVNULL)


def installed_version() -> str | None:
    q = subprocess.run(["dpkg-query", "-W", "-f=${Status} ${Version}", PACKAGE], capture_output=True, text=True)
    parts = q.stdout.split()
    # "install ok installed 0.1.0"; after a remove, "deinstall ok config-files 0.1.0".
    return parts[3] if q.returncode == 0 and len(parts) == 4 and parts[2] == "installed" else None


@pytest.fixture(autouse=True)
def nothing_installed_before_or_after():
    if installed_version():
        dpkg("--purge", PACKAGE)
    yield
    if installed_version():
        dpkg("--purge", PACKAGE)


def facts(db: Path) -> dict:
    con = sqlite3.connect(db)
    try:
        one = lambda q: con.execute(q).fetchone()[0]
        return {
            "schema": one("PRAGMA user_version"),
            "members": one("SELECT COUNT(*) FROM members"),
            "payments": one("SELECT COUNT(*) FROM payments"),
            "contracts": one("SELECT COUNT(*) FROM contracts"),
            "ops": [r[0] for r in con.execute("SELECT op_id FROM change_log ORDER BY seq")],
        }
    finally:
        con.close()


def log_in_as_admin(app):
    app.login("admin")
    app.el("nav-members", timeout=15)


def test_upgrade_over_the_previous_release_keeps_the_data_migrates_it_and_backs_it_up_first(request, home_dir):
    dpkg("-i", str(PREVIOUS_DEB))
    assert installed_version() == field(PREVIOUS_DEB, "Version")
    db = default_db(home_dir)
    db.parent.mkdir(parents=True)
    shutil.copy(SCHEMA_1, db)
    # The previous release opens the centre (and brings it to its own schema).
    with running_app(f"{request.node.name}-previous", home_dir, None, installed_binary()) as app:
        log_in_as_admin(app)
        app.shot("previous-release")
    before = facts(db)
    assert 1 < before["schema"] < 18 and before["members"] >= 20, {k: v for k, v in before.items() if k != "ops"}

    dpkg("-i", str(CURRENT_DEB))
    assert installed_version() == field(CURRENT_DEB, "Version")
    with running_app(f"{request.node.name}-upgraded", home_dir, None, installed_binary()) as app:
        log_in_as_admin(app)
        info = app.call("app_info", {})
        assert info["version"] == field(CURRENT_DEB, "Version"), info
        app.shot("upgraded-home")
    after = facts(db)
    assert after["schema"] > before["schema"]
    for what in ("members", "payments", "contracts"):
        assert after[what] == before[what], what
    # Every change the previous release logged is still there, in its place (the new
    # version may add its own after them: the hourly upkeep, the login).
    assert after["ops"][: len(before["ops"])] == before["ops"]
    # The copy taken before the upgrade is the previous release's data, as it was.
    (backup,) = sorted((db.parent / "backups").glob("before-upgrade-*.db"))
    kept = facts(backup)
    assert kept["schema"] == before["schema"] and kept["ops"] == before["ops"], backup

    binary = installed_binary()
    dpkg("--remove", PACKAGE)
    assert not binary.exists() and installed_version() is None
    assert facts(db)["ops"] == after["ops"], "removing the app keeps the centre's data"
    dpkg("--purge", PACKAGE)
    assert facts(db)["ops"] == after["ops"], "purging the package never touches a user's data folder"


def test_a_fresh_install_starts_with_the_demo_logs_in_and_searches(request, home_dir):
    dpkg("-i", str(CURRENT_DEB))
    binary = installed_binary()
    assert os.access(binary, os.X_OK)
    with running_app(f"{request.node.name}", home_dir, None, binary) as app:
        app.el("first-demo", timeout=20)
        app.shot("first-run")
        app.click("first-demo")
        app.wait_text("login-demo-hint", lambda t: "admin" in t, timeout=120)
        app.shot("login")
        app.click("login-submit")
        app.el("nav-members", timeout=15)
        app.shot("home")
        (member_id, name) = app.sql("SELECT id, name FROM members WHERE member_no IS NOT NULL ORDER BY member_no LIMIT 1")[0]
        app.type("search-input", name)
        WebDriverWait(app.driver, 5).until(lambda d: any(r.get_attribute("data-id") == member_id for r in app.all("search-result")))
        app.shot("search")
    assert default_db(home_dir).exists()

"""End-to-end harness: the real CentreDesk binary driven through tauri-driver and
WebKitWebDriver (run the suite under xvfb-run). Each test gets its own database and
its own config/data dirs so no preference leaks between runs.

Time: the suite never reads the machine's clock or date. Every test runs "at" one fixed
instant, E2E_NOW (RFC 3339, default below): the demo's history is generated to end at
it (`centredesk --clock E2E_NOW demo`) and the app is started with `--clock`, so its
clock starts there and runs on at the real rate (a restart within a test continues the
same timeline). Dates a test expects are computed from that instant in the centre's
time zone (`centre_today()`), never with the machine's `date`/`now`.
`scripts/e2e-clock-matrix.sh` runs the whole suite at several instants and zones."""

import contextlib
import csv
import datetime
import io
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import urllib3
from selenium.webdriver.common.keys import Keys
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.options import ArgOptions
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parents[2]
# The app under test: the debug build `cargo test` made, or an installed one
# (`E2E_APP=/usr/bin/centredesk-app`, as scripts/package.sh runs it).
APP = Path(os.environ.get("E2E_APP") or ROOT / "target" / "debug" / "centredesk-app")
CLI = ROOT / "target" / "debug" / "centredesk"
ARTIFACTS = ROOT / "artifacts" / "e2e"

# tests/e2e/package/ drives an installed .deb (install, upgrade, remove need root and a
# release build): scripts/package.sh runs it with E2E_PACKAGE set; the suite does not.
collect_ignore = [] if os.environ.get("E2E_PACKAGE") else ["package"]

# The instant every test runs at (UTC 19:30 is already the next day in the centre's zone:
# a test that mixes up the two dates fails by default, not only in the evening).
E2E_NOW = os.environ.get("E2E_NOW", "2026-12-02T19:30:00Z")
NOW = datetime.datetime.fromisoformat(E2E_NOW.replace("Z", "+00:00")).astimezone(datetime.timezone.utc)
# The demo centre's zone (Settings → time zone; the demo keeps the default).
CENTRE_TZ = ZoneInfo("Asia/Shanghai")


def centre_now() -> datetime.datetime:
    """The fixed instant in the centre's time zone."""
    return NOW.astimezone(CENTRE_TZ)


def centre_today() -> datetime.date:
    """The desk's business date at the fixed instant."""
    return centre_now().date()


def centre_date(instant: str) -> datetime.date:
    """The business date of a stored UTC instant (`2026-12-02T19:30:00.000Z`)."""
    return datetime.datetime.fromisoformat(instant.replace("Z", "+00:00")).astimezone(CENTRE_TZ).date()


def clock_arg(elapsed: float = 0.0) -> str:
    """The --clock value for a process started `elapsed` seconds into a test."""
    return (NOW + datetime.timedelta(seconds=elapsed)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def cli(*args: str, **kw):
    """Runs the real `centredesk` CLI at the fixed instant."""
    return subprocess.run([str(CLI), "--clock", clock_arg(), *args], check=True, **kw)


def read_desk_csv(path) -> list:
    """The rows of a CSV the desk wrote for Excel: the BOM, the table, an empty line and the
    footer naming the version that wrote it and when (checked here, left off the rows)."""
    raw = Path(path).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "Excel needs the BOM to read Chinese"
    rows = list(csv.reader(io.StringIO(raw[3:].decode("utf-8"))))
    assert rows[-2] == [] and len(rows[-1]) == 1, rows[-3:]
    assert re.fullmatch(r"CentreDesk \d+\.\d+\.\d+ · (导出于|Exported) \d{4}-\d\d-\d\d \d\d:\d\d", rows[-1][0]), rows[-1]
    return rows[:-2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def home_dir(tmp_path):
    for d in ("config", "data", "cache"):
        (tmp_path / d).mkdir()
    return tmp_path


@pytest.fixture
def demo_db(tmp_path):
    """A small demo centre (packages, staff qiantai/demo1234, some members)."""
    db = tmp_path / "e2e.db"
    cli("--db", str(db), "demo", "--members", "30", "--seed", "5")
    return db


class App:
    """The running app and a few helpers that read like what a clerk does."""

    def __init__(self, driver, db: Path, name: str, launch):
        self.driver = driver
        self.db = db
        self.name = name
        self.shots = 0
        self._launch = launch
        self.closed = False

    def quit(self):
        """Ends the WebDriver session (which ends the app), unless the window was closed
        already (`close_window`), which took the session along."""
        with contextlib.suppress(Exception) if self.closed else contextlib.nullcontext():
            self.driver.quit()

    def restart(self):
        """Quit the app and start it again on the same database and config dirs."""
        self.quit()
        self.closed = False
        self.driver = self._launch()

    def pid(self) -> int:
        """The app's process (the one centredesk-app the suite runs at a time)."""
        out = subprocess.run(["pgrep", "-x", "centredesk-app"], capture_output=True, text=True).stdout.split()
        assert len(out) == 1, out
        return int(out[0])

    def close_window(self, timeout: float = 15):
        """Asks the app's window to close as the title bar's × does (WM_DELETE_WINDOW;
        Xvfb has no window manager to press it) and waits for the app to end: it then
        closes the database cleanly. WebDriver's own close kills the process instead."""
        from Xlib import X, display, protocol

        pid = self.pid()
        d = display.Display()
        pid_atom, protocols, delete = (d.intern_atom(n) for n in ("_NET_WM_PID", "WM_PROTOCOLS", "WM_DELETE_WINDOW"))

        def windows(w):
            yield w
            for child in w.query_tree().children:
                yield from windows(child)

        targets = [w for w in windows(d.screen().root) if (p := w.get_full_property(pid_atom, X.AnyPropertyType)) and p.value[0] == pid]
        assert targets, f"no window of process {pid}"
        for w in targets:
            w.send_event(protocol.event.ClientMessage(window=w, client_type=protocols, data=(32, [delete, X.CurrentTime, 0, 0, 0])))
        d.flush()
        self.closed = True

        def running():
            # Ended is gone, or a zombie its parent (WebKitWebDriver) has not reaped yet.
            try:
                return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
            except FileNotFoundError:
                return False

        deadline = time.monotonic() + timeout
        while running() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not running(), "the app did not exit when its window closed"

    def el(self, testid: str, timeout: float = 10):
        return WebDriverWait(self.driver, timeout).until(
            EC.visibility_of_element_located((By.CSS_SELECTOR, f'[data-testid="{testid}"]'))
        )

    def all(self, testid: str):
        return self.driver.find_elements(By.CSS_SELECTOR, f'[data-testid="{testid}"]')

    def gone(self, testid: str, timeout: float = 10):
        WebDriverWait(self.driver, timeout).until(
            EC.invisibility_of_element_located((By.CSS_SELECTOR, f'[data-testid="{testid}"]'))
        )

    def type(self, testid: str, text: str, clear: bool = True):
        e = self.el(testid)
        if clear:
            e.clear()
        e.send_keys(text)
        return e

    def click(self, testid: str):
        self.el(testid).click()

    def text_of(self, testid: str) -> str:
        return self.el(testid).text.strip()

    def wait_text(self, testid: str, predicate, timeout: float = 10) -> str:
        """Waits up to `timeout` for the element to be shown *and* its text to satisfy
        `predicate`: the element is looked up at each poll, so one that appears late
        (after a long command) is waited for the whole time, not `el`'s default."""
        def shown_text(d):
            found = [e for e in self.all(testid) if e.is_displayed()]
            return bool(found) and predicate(found[0].text.strip())

        WebDriverWait(self.driver, timeout, ignored_exceptions=(StaleElementReferenceException,)).until(shown_text)
        return self.text_of(testid)

    def shot(self, label: str):
        """A screenshot of the X display the app runs on (under xvfb-run): what a
        person would see. WebKitWebDriver's own snapshot stalls while a modal
        <dialog> is open, so it is only the fallback without an X display."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.shots += 1
        path = ARTIFACTS / f"{self.name}-{self.shots:02d}-{label}.png"
        time.sleep(0.3)  # let the last change paint
        if os.environ.get("DISPLAY") and shutil.which("import"):
            subprocess.run(["import", "-window", "root", str(path)], check=True, timeout=20)
        else:
            self.driver.save_screenshot(str(path))
        return path

    def login(self, username: str, password: str = "demo1234"):
        """Logs in from the login screen and waits for the app's navigation."""
        self.el("login-username", timeout=20)
        self.type("login-username", username)
        self.type("login-password", password + Keys.ENTER)
        self.el("nav-members", timeout=15)

    def invoke(self, command: str, args: dict):
        """Calls a desk command from the page as the UI does (the shell's one Tauri
        command `call`, with the command's name and arguments): {ok: …} or {err: …}."""
        return self.driver.execute_async_script(
            """
            const [command, args, done] = arguments;
            window.__TAURI_INTERNALS__.invoke('call', { command, args }).then((ok) => done({ ok }), (err) => done({ err }));
            """,
            command,
            args,
        )

    def call(self, command: str, args: dict):
        """Like invoke, for set-up steps that must succeed: returns the result."""
        result = self.invoke(command, args)
        assert "err" not in result, (command, result)
        return result.get("ok")

    def sql(self, query: str, *args):
        con = sqlite3.connect(self.db)
        try:
            return con.execute(query, args).fetchall()
        finally:
            con.close()


def app_env(home_dir: Path) -> dict:
    """The app's environment: its preferences, data and WebKit storage inside `home_dir`."""
    env = dict(os.environ)
    env.update(
        # Documents/CentreDesk (CSV exports, chart pictures) inside this test too.
        HOME=str(home_dir),
        XDG_CONFIG_HOME=str(home_dir / "config"),
        XDG_DATA_HOME=str(home_dir / "data"),
        XDG_CACHE_HOME=str(home_dir / "cache"),
        # The device token in its user-only file, never in the keyring of whoever runs the tests.
        CENTREDESK_TOKEN_STORE="file",
        # The phone server (Settings → 手机点名) on loopback only, never the machine's network.
        CENTREDESK_PHONE_BIND="127.0.0.1",
    )
    env.pop("CENTREDESK_DB", None)
    return env


def default_db(home_dir: Path) -> Path:
    """Where an app started with no --db keeps its database (XDG_DATA_HOME/CentreDesk)."""
    return home_dir / "data" / "CentreDesk" / "centredesk.db"


@contextlib.contextmanager
def running_app(name: str, home_dir: Path, db: Path | None, app_bin: Path = APP):
    """The app started through tauri-driver at the suite's instant: on `db`, or with no
    --db at all (the installed app's default database, `default_db(home_dir)`)."""
    assert app_bin.exists(), f"build the app first: cargo build -p centredesk-app ({app_bin})"
    driver_bin = shutil.which("tauri-driver") or str(Path.home() / ".cargo" / "bin" / "tauri-driver")
    port = free_port()
    proc = subprocess.Popen(
        [driver_bin, "--port", str(port), "--native-port", str(free_port())],
        env=app_env(home_dir),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)

        started = time.monotonic()

        def launch():
            options = ArgOptions()
            options.set_capability("browserName", "wry")
            # The app's clock continues the test's timeline from the fixed instant.
            args = (["--db", str(db)] if db else []) + ["--clock", clock_arg(time.monotonic() - started)]
            options.set_capability("tauri:options", {"application": str(app_bin), "args": args})
            # tauri-driver accepts the connection before its WebKitWebDriver listens on the
            # native port; a session asked for in that moment is dropped unanswered
            # ("Remote end closed connection"). Only the session start is retried.
            for attempt in range(4):
                try:
                    driver = webdriver.Remote(f"http://127.0.0.1:{port}", options=options)
                    break
                except (urllib3.exceptions.ProtocolError, ConnectionError):
                    if attempt == 3:
                        raise
                    time.sleep(1 + attempt)
            driver.set_window_size(1366, 768)
            return driver

        a = App(launch(), db or default_db(home_dir), name, launch)
        try:
            yield a
        finally:
            try:
                a.shot("end")
            finally:
                a.quit()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def app(request, demo_db, home_dir):
    with running_app(request.node.name, home_dir, demo_db) as a:
        yield a

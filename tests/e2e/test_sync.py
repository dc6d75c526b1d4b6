"""Head-office sync in the real app, against the real centredesk-server: the manager
registers the desk once, "sync now" pushes the whole change log, the header light and
the panel say so; with the server down a new change waits and the problem is shown in
plain words; when the server is back the desk catches up and head office holds every
op the desk wrote."""

import base64
import json
import os
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from selenium.webdriver.support.ui import WebDriverWait

from conftest import ROOT, clock_arg, free_port

SERVER = ROOT / "target" / "debug" / "centredesk-server"
HO_USER, HO_PASSWORD = "zongbu", "head-office-pw"


class HeadOffice:
    def __init__(self, data: Path):
        self.data = data
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = None
        self.born = time.monotonic()
        env = dict(os.environ, CENTREDESK_SERVER_PASSWORD=HO_PASSWORD)
        subprocess.run([str(SERVER), "--data", str(data), "user", "add", HO_USER], check=True, env=env)
        subprocess.run([str(SERVER), "--data", str(data), "centre", "add", "SH01", "--name", "上海一校"], check=True)

    def start(self):
        # On the suite's instant, like the desk (else the desk warns of clock skew).
        args = [str(SERVER), "--clock", clock_arg(time.monotonic() - self.born), "--data", str(self.data)]
        self.proc = subprocess.Popen(args + ["serve", "--listen", f"127.0.0.1:{self.port}"])
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url + "/api/v1/centres", timeout=1)
            except urllib.error.HTTPError:
                return  # 401 without credentials: it is up
            except OSError:
                time.sleep(0.1)
        raise AssertionError("centredesk-server did not start")

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None

    def centres(self):
        req = urllib.request.Request(self.url + "/api/v1/centres")
        req.add_header("Authorization", "Basic " + base64.b64encode(f"{HO_USER}:{HO_PASSWORD}".encode()).decode())
        return json.load(urllib.request.urlopen(req, timeout=5))


@pytest.fixture
def head_office(tmp_path):
    assert SERVER.exists(), f"build the server first: cargo build -p centredesk-server ({SERVER})"
    ho = HeadOffice(tmp_path / "ho")
    ho.start()
    yield ho
    ho.stop()


def acked(ho):
    [c] = [c for c in ho.centres() if c["code"] == "SH01"]
    return c["acked_through_seq"]


def test_register_sync_now_survive_the_server_going_down_and_catch_up(app, head_office):
    app.login("admin")
    # Off by default: no light in the header, the panel says the desk is not registered.
    assert app.all("sync-badge") == []
    app.click("nav-settings")
    app.el("sync-unregistered")
    app.type("sync-url", head_office.url)
    app.type("sync-centre", "SH01")
    app.type("sync-ho-user", HO_USER)
    app.type("sync-ho-password", "wrong-password")
    app.click("sync-register")
    assert "密码" in app.wait_text("form-error", lambda t: t != "")
    app.type("sync-ho-password", HO_PASSWORD)
    app.click("sync-register")
    app.el("sync-server")
    # The credentials are not kept; only the device token, beside the database.
    token = Path(app.db).with_name("e2e.sync-token")
    assert token.exists() and HO_PASSWORD not in token.read_text()
    assert app.el("sync-token-store").get_attribute("data-store") == "file"
    assert HO_PASSWORD not in Path(app.db).with_name("e2e.sync.json").read_text()

    app.click("sync-now")
    app.wait_text("sync-waiting", lambda t: t == "0", timeout=30)
    last_seq = app.sql("SELECT MAX(seq) FROM change_log")[0][0]
    assert acked(head_office) == last_seq
    WebDriverWait(app.driver, 20).until(lambda d: app.el("sync-badge").get_attribute("data-level") == "ok")
    assert app.text_of("sync-badge") == "已同步"
    app.shot("synced")

    # Head office goes away; the desk goes on working and the change waits.
    head_office.stop()
    app.call("member_apply", {"input": {
        "name": "断网时登记", "gender": "M", "notes": "", "referred_by": None,
        "guardian": {"name": "断网家长", "relation": "爸爸", "phone": "13700002222", "wechat": ""},
    }})
    app.click("sync-now")
    assert "连不上总部服务器" in app.wait_text("sync-error", lambda t: t != "", timeout=30)
    assert int(app.text_of("sync-waiting")) > 0
    WebDriverWait(app.driver, 20).until(lambda d: app.el("sync-badge").get_attribute("data-level") == "error")
    app.shot("server-down")

    # Back online: one press and head office holds everything, in order, once.
    head_office.start()
    app.click("sync-now")
    app.wait_text("sync-waiting", lambda t: t == "0", timeout=30)
    app.gone("sync-error")
    assert acked(head_office) == app.sql("SELECT MAX(seq) FROM change_log")[0][0] > last_seq
    app.shot("caught-up")

"""Notices reach parents from the real app: the manager points the desk at an SMS/WeChat
gateway's webhook in settings, a sale queues a notice, "send now" in the outbox delivers
it (the gateway gets the text, signed); when the gateway fails the outbox shows the
error and the attempt, and "resend" puts it back in the queue."""

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.support.ui import WebDriverWait

SECRET = "gateway-secret-0123456789"


class Gateway:
    def __init__(self):
        self.received = []
        self.status = 200
        gw = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                gw.received.append((self.headers["X-CentreDesk-Signature"], body))
                self.send_response(gw.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/sms"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def gateway():
    g = Gateway()
    yield g
    g.server.shutdown()


def wait(app, timeout=15):
    return WebDriverWait(app.driver, timeout, ignored_exceptions=[StaleElementReferenceException])


def row_of(app, notice_id):
    return next((r for r in app.all("notice-row") if r.get_attribute("data-id") == notice_id), None)


def test_a_sale_notice_goes_out_through_the_gateway_and_a_failure_can_be_resent(app, gateway):
    app.login("admin")
    app.click("nav-settings")
    app.el("notify-panel")
    app.type("notify-webhook-url", gateway.url)
    app.type("notify-webhook-secret", SECRET)
    app.click("notify-channels-save")
    wait(app).until(lambda d: app.el("notify-webhook-secret").get_attribute("value") == "")
    (water,), = app.sql("SELECT id FROM goods WHERE name = '矿泉水'")
    (member, name), = app.sql(
        "SELECT m.id, m.name FROM members m WHERE m.status = 'active' AND EXISTS (SELECT 1 FROM member_guardians g WHERE g.member_id = m.id) ORDER BY m.member_no LIMIT 1"
    )
    sale = {"goods_id": water, "quantity": 1, "member_id": member, "method": "cash", "delivered": True, "note": ""}

    app.call("goods_sell", {"input": sale})
    (notice_id, text), = app.sql("SELECT id, text FROM notices WHERE kind = 'goods_sale' AND member_id = ? ORDER BY created_at DESC LIMIT 1", member)
    assert name in text and "矿泉水" in text
    app.click("nav-timetable")
    app.click("tt-tab-notices")
    app.click("notices-send-now")
    wait(app).until(lambda d: (row_of(app, notice_id) or d).get_attribute("data-status") == "sent")
    # The gateway got this notice's text, signed with the secret.
    bodies = [(sig, json.loads(b)) for sig, b in gateway.received]
    [(sig, body)] = [(s, b) for s, b in bodies if b["id"] == notice_id]
    assert body["text"] == text
    raw = next(b for s, b in gateway.received if json.loads(b)["id"] == notice_id)
    assert sig == "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    app.shot("sent")

    # The gateway breaks: the outbox says so, and the desk resends once it is back.
    gateway.status = 400
    app.call("goods_sell", {"input": sale})
    (failing,), = app.sql("SELECT id FROM notices WHERE kind = 'goods_sale' AND member_id = ? AND status = 'queued' ORDER BY created_at DESC LIMIT 1", member)
    app.click("notices-send-now")
    wait(app).until(lambda d: (row_of(app, failing) or d).get_attribute("data-status") == "failed")
    assert "400" in row_of(app, failing).text
    app.shot("failed")
    gateway.status = 200
    resend = row_of(app, failing).find_element("css selector", '[data-testid="notice-resend"]')
    app.driver.execute_script("arguments[0].scrollIntoView({block: 'center', inline: 'end'})", resend)
    resend.click()
    wait(app).until(lambda d: (row_of(app, failing) or d).get_attribute("data-status") == "queued")
    app.click("notices-send-now")
    wait(app).until(lambda d: (row_of(app, failing) or d).get_attribute("data-status") == "sent")
    assert app.sql("SELECT status, attempts FROM notices WHERE id = ?", failing) == [("sent", 1)]


def test_class_reminders_turned_on_reach_the_classes_of_the_next_hours(app):
    """The manager turns on class reminders 48 hours ahead (Settings → 家长通知); within the
    notifier's next round (every 60 s) reminders are queued, each for a class that has not
    begun and starts within those 48 hours, never for a child on leave from it."""
    import datetime
    from conftest import CENTRE_TZ, centre_now
    from selenium.webdriver.support.ui import Select

    app.login("admin")
    app.click("nav-settings")
    app.el("notify-panel")
    Select(app.el("notify-class-reminder")).select_by_value("hours")
    app.type("notify-class-reminder-hours", "48")
    app.el("notify-class-reminder-trials")  # offered once reminders are on
    app.shot("class-reminders-zh")
    app.click("notify-rules-save")
    wait(app).until(lambda d: app.sql("SELECT value FROM settings WHERE key = 'notice_class_reminder_hours'") == [("48",)])
    assert app.sql("SELECT value FROM settings WHERE key = 'notice_class_reminder'") == [("hours",)]
    WebDriverWait(app.driver, 80, poll_frequency=1).until(lambda d: app.sql("SELECT COUNT(*) FROM notices WHERE kind = 'class_reminder'")[0][0] > 0)
    now = centre_now()
    for date, start, on_leave in app.sql(
        """SELECT s.date, s.start_time, EXISTS (SELECT 1 FROM leave_requests l WHERE l.session_id = s.id AND l.member_id = n.member_id AND l.withdrawn_at IS NULL)
           FROM notices n JOIN class_sessions s ON s.id = n.session_id WHERE n.kind = 'class_reminder'"""
    ):
        begins = datetime.datetime.fromisoformat(f"{date}T{start}").replace(tzinfo=CENTRE_TZ)
        assert now < begins <= now + datetime.timedelta(hours=48, minutes=30), (date, start)  # the app's clock runs on from E2E_NOW
        assert not on_leave, (date, start)
    app.click("lang-switch")
    app.el("notify-class-reminder")
    app.shot("class-reminders-en")
    app.click("lang-switch")

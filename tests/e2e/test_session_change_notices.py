"""The manager cancels today's class from its roll-call page: the dialog says how many
families will be told and shows the text before saving, and the notices are queued in
the outbox for exactly the families expected."""

from conftest import centre_today
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.support.ui import WebDriverWait


def wait(app, timeout=10):
    return WebDriverWait(app.driver, timeout, ignored_exceptions=[StaleElementReferenceException])


def test_cancelling_a_class_tells_the_families_expected(app):
    today = centre_today().isoformat()
    app.login("admin")
    app.el("home-today")
    row = app.all("home-session")[0]
    session_id = row.get_attribute("data-session-id")
    row.find_element("css selector", "td").click()
    app.click("session-change-open")
    app.el("session-change-dialog")
    # Nothing changed yet: nobody to tell.
    wait(app).until(lambda d: app.el("sc-preview").get_attribute("data-kind") == "")
    app.click("sc-cancel")
    wait(app).until(lambda d: app.el("sc-preview").get_attribute("data-kind") == "session_cancelled")
    families = int(app.el("sc-preview").get_attribute("data-families"))
    assert families > 0, "today's class has children expected"
    assert "停课" in app.text_of("sc-preview")
    app.shot("session-cancel-preview-zh")
    app.click("sc-submit")
    app.gone("session-change-dialog")
    told = app.sql("SELECT COUNT(DISTINCT member_id), COUNT(*) FROM notices WHERE kind = 'session_cancelled' AND session_id = ?", session_id)
    guardians = app.sql(
        "SELECT COUNT(*) FROM notices n WHERE n.kind = 'session_cancelled' AND n.session_id = ? AND n.status = 'queued' AND n.text LIKE '%' || ? || '%'", session_id, today
    )
    assert told[0][0] == families
    assert guardians[0][0] == told[0][1]
    assert app.sql("SELECT status FROM class_sessions WHERE id = ?", session_id) == [("cancelled",)]


def test_a_closure_cancels_the_classes_to_come_and_tells_their_families(app):
    """The manager declares three days closed from the calendar: the form says how many
    classes it cancels and how many families it tells, shows the text, and on saving the
    sessions are cancelled and one notice per child expected is queued."""
    import datetime

    first = centre_today() + datetime.timedelta(days=3)
    last = first + datetime.timedelta(days=2)
    to_cancel = app.sql(
        """SELECT COUNT(*) FROM class_sessions s WHERE s.status = 'scheduled' AND s.date BETWEEN ? AND ?
           AND NOT EXISTS (SELECT 1 FROM attendance a WHERE a.session_id = s.id)""",
        first.isoformat(), last.isoformat(),
    )[0][0]
    assert to_cancel > 0, "the demo has classes in those days"
    app.login("admin")
    app.click("nav-timetable")
    app.click("tt-tab-calendar")
    app.type("tt-closure-name", "场馆维修")
    app.type("tt-closure-from", first.isoformat())
    app.type("tt-closure-to", last.isoformat())
    wait(app).until(lambda d: app.all("tt-closure-preview") and app.el("tt-closure-preview").get_attribute("data-sessions") == str(to_cancel))
    families = int(app.el("tt-closure-preview").get_attribute("data-families"))
    assert families > 0
    assert "场馆维修" in app.text_of("tt-closure-sample") and "不扣课时" in app.text_of("tt-closure-sample")
    app.shot("closure-preview-zh")
    app.click("tt-closure-save")
    wait(app).until(lambda d: any("场馆维修" in r.text for r in app.all("tt-closure-row")))
    assert app.sql("SELECT COUNT(*) FROM class_sessions WHERE status = 'cancelled' AND note = '场馆维修'") == [(to_cancel,)]
    told = app.sql("SELECT COUNT(DISTINCT member_id) FROM notices WHERE kind = 'closure'")[0][0]
    assert told == families, (told, families)

    # The same form in English, for the same weekdays a week later (not saved).
    app.click("lang-switch")
    app.type("tt-closure-name", "Repairs")
    app.type("tt-closure-from", (first + datetime.timedelta(days=7)).isoformat())
    app.type("tt-closure-to", (last + datetime.timedelta(days=7)).isoformat())
    app.wait_text("tt-closure-preview", lambda text: text.startswith("Cancels") and not text.startswith("Cancels 0 "))
    app.shot("closure-preview-en")
    app.click("lang-switch")

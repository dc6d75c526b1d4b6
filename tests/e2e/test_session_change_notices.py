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


def test_a_winter_timetable_tells_the_families_whose_classes_change(app):
    """The manager adds a winter season with no classes of its own (every class pauses),
    previews whom that tells and the text, sends it, and a second look finds everyone
    already told."""
    import datetime

    first = centre_today() + datetime.timedelta(days=40)
    last = first + datetime.timedelta(days=20)
    app.login("admin")
    app.click("nav-timetable")
    app.click("tt-tab-calendar")
    app.type("tt-season-name", "寒假")
    app.type("tt-season-from", first.isoformat())
    app.type("tt-season-to", last.isoformat())
    app.click("tt-season-save")
    wait(app).until(lambda d: any("寒假" in r.text for r in app.all("tt-season-row")))
    row = next(r for r in app.all("tt-season-row") if "寒假" in r.text)
    row.find_element("css selector", "[data-testid=tt-season-notify]").click()
    wait(app).until(lambda d: app.all("tt-season-preview"))
    families = int(app.el("tt-season-preview").get_attribute("data-families"))
    guardians = int(app.el("tt-season-preview").get_attribute("data-guardians"))
    assert families > 0 and guardians >= families
    assert "寒假" in app.text_of("tt-season-sample") and "暂停上课" in app.text_of("tt-season-sample")
    app.shot("season-notice-preview-zh")
    app.click("tt-season-send")
    app.gone("tt-season-preview")
    told = app.sql("SELECT COUNT(DISTINCT member_id), COUNT(*) FROM notices WHERE kind = 'season_timetable' AND status = 'queued'")[0]
    assert told == (families, guardians), (told, families, guardians)

    # In English, the same season again: everyone has been told.
    app.click("lang-switch")
    row = next(r for r in app.all("tt-season-row") if "寒假" in r.text)
    row.find_element("css selector", "[data-testid=tt-season-notify]").click()
    wait(app).until(lambda d: app.all("tt-season-preview") and app.el("tt-season-preview").get_attribute("data-already") == str(families))
    assert app.el("tt-season-preview").get_attribute("data-families") == "0"
    assert not app.all("tt-season-send")
    app.shot("season-notice-preview-en")
    app.click("lang-switch")

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

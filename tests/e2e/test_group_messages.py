"""The clerk writes one message to a class from its page: the dialog counts the families
and guardians it reaches (a guardian who asked for no group messages left out, set on
the guardian's own form), shows what the first family gets, and the outbox holds one
message per guardian of the class's children on the centre's day."""

from conftest import centre_today
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait


def wait(app, timeout=10):
    return WebDriverWait(app.driver, timeout, ignored_exceptions=[StaleElementReferenceException])


GUARDIANS_OF_CLASS = """
    SELECT DISTINCT g.id FROM group_members gm
    JOIN members m ON m.id = gm.member_id
    JOIN member_guardians mg ON mg.member_id = m.id
    JOIN guardians g ON g.id = mg.guardian_id
    WHERE gm.group_id = ? AND gm.start_date <= ? AND (gm.end_date IS NULL OR gm.end_date >= ?)
      AND m.merged_into IS NULL AND m.status NOT IN ('applicant', 'left')"""


def test_a_message_to_one_class_with_its_preview_and_count(app):
    today = centre_today().isoformat()
    app.login("qiantai")
    app.click("nav-timetable")
    app.el("tt-week")
    app.click("tt-tab-groups")
    # The class list loads after the tab: wait for its rows.
    wait(app).until(lambda d: app.all("tt-group-row"))
    row = app.all("tt-group-row")[0]
    group_id = row.get_attribute("data-id")
    guardians = [g for (g,) in app.sql(GUARDIANS_OF_CLASS, group_id, today, today)]
    assert len(guardians) >= 3, "the demo's first class has families"

    # One guardian asks for no group messages, on the guardian's own form.
    (member_id, member_no), = app.sql(
        "SELECT m.id, m.member_no FROM member_guardians mg JOIN members m ON m.id = mg.member_id WHERE mg.guardian_id = ? LIMIT 1", guardians[0]
    )
    search = app.type("search-input", member_no)
    wait(app).until(lambda d: any(r.get_attribute("data-id") == member_id for r in app.all("search-result")))
    search.send_keys(Keys.ENTER)
    app.click("member-tab-guardians")
    row = next(r for r in app.all("guardian-row") if r.get_attribute("data-id") == guardians[0])
    row.find_element("css selector", '[data-testid="guardian-edit"]').click()
    app.click("guardian-no-group-messages")
    app.click("guardian-edit-save")
    wait(app).until(lambda d: app.sql("SELECT no_group_messages FROM guardians WHERE id = ?", guardians[0]) == [(1,)])

    app.click("nav-timetable")
    app.click("tt-tab-groups")
    [r for r in app.all("tt-group-row") if r.get_attribute("data-id") == group_id][0].find_element("css selector", "td").click()
    app.el("group-title")
    app.click("group-message")
    app.el("group-message-dialog")
    app.type("gm-body", "{guardian}您好：{member}所在班级本周六加课一次，9:00 开始，请准时到馆。")
    wait(app).until(lambda d: app.el("gm-preview").get_attribute("data-notices") == str(len(guardians) - 1))
    assert app.el("gm-preview").get_attribute("data-opted-out") == "1"
    assert "1 位家长选择不接收群发消息" in app.text_of("gm-opted-out")
    assert "所在班级本周六加课一次" in app.text_of("gm-sample")
    app.shot("group-message-preview-zh")
    app.click("gm-send")
    app.gone("group-message-dialog")

    sent = app.sql("SELECT guardian_id, status FROM notices WHERE kind = 'group_message'")
    assert sorted(g for g, _ in sent) == sorted(guardians[1:]), "one message per guardian, the one who opted out left out"
    assert {s for _, s in sent} <= {"queued", "sent", "failed"}
    assert app.sql("SELECT notices, opted_out FROM group_messages") == [(len(guardians) - 1, 1)]

    # The same dialog in English: the words follow the language.
    app.click("lang-switch")
    app.click("group-message")
    app.type("gm-body", "Dear {guardian}, {member}'s class has an extra lesson this Saturday at 9:00.")
    wait(app).until(lambda d: "one per guardian" in app.text_of("gm-count"))
    app.shot("group-message-preview-en")
    app.el("gm-body").send_keys(Keys.ESCAPE)
    app.gone("group-message-dialog")
    assert app.sql("SELECT COUNT(*) FROM group_messages") == [(1,)], "Esc backs out without sending"
    app.click("lang-switch")

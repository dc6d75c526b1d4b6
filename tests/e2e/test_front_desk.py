"""The clerk's core loop in the real app: log in, register a member with a guardian,
find them by pinyin initials, enrol them, take a partial payment, see the balance due,
switch to English; bad input shows a clear error and saves nothing."""

import subprocess

from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait


def test_register_find_enrol_and_take_a_partial_payment(app):
    app.el("login-username", timeout=20)
    app.shot("login")
    app.login("qiantai")
    # The search box has the focus on open: typing goes straight into it.
    WebDriverWait(app.driver, 5).until(
        lambda d: d.switch_to.active_element.get_attribute("data-testid") == "search-input"
    )
    app.shot("home")

    # Register a member with a guardian; a bad phone is refused and nothing is saved.
    app.click("nav-members")
    app.click("member-new")
    app.type("member-name", "欧阳子涵")
    app.click("member-gender-f")
    app.type("guardian-name", "欧阳娜")
    app.type("guardian-relation", "妈妈")
    app.type("guardian-phone", "1381234")
    app.click("member-save")
    error = app.el("form-error").text
    assert "家长电话" in error and "11" in error, error
    phone_input = app.el("guardian-phone")
    assert phone_input.get_attribute("aria-invalid") == "true"
    app.shot("bad-phone")
    assert app.sql("SELECT COUNT(*) FROM members WHERE name = '欧阳子涵'") == [(0,)]
    assert app.sql("SELECT COUNT(*) FROM guardians WHERE name = '欧阳娜'") == [(0,)]

    app.type("guardian-phone", "138 1234 5678")
    app.click("member-save")
    app.wait_text("member-title", lambda t: "欧阳子涵" in t)
    (member_id, status), = app.sql("SELECT id, status FROM members WHERE name = '欧阳子涵'")
    assert status == "applicant"
    assert app.sql(
        "SELECT g.phone, mg.relation FROM member_guardians mg JOIN guardians g ON g.id = mg.guardian_id WHERE mg.member_id = ?",
        member_id,
    ) == [("13812345678", "妈妈")]

    # Approval assigns the member number.
    app.type("approve-birthday", "2017-03-07")
    app.click("approve-submit")
    number = app.wait_text("member-no", lambda t: t.startswith("M"))
    assert app.sql("SELECT member_no FROM members WHERE id = ?", member_id) == [(number,)]

    # Find her again from anywhere by pinyin initials.
    app.click("nav-home")
    search = app.type("search-input", "oyzh")
    WebDriverWait(app.driver, 5).until(
        lambda d: any(r.get_attribute("data-id") == member_id for r in app.all("search-result"))
    )
    # At 1366 px the box is narrow; its list is wide enough for a name, a number and a
    # phone, and inside the window.
    box = app.driver.execute_script(
        "const r = document.getElementById('search-results').getBoundingClientRect(); "
        "const row = document.querySelector('[data-testid=\"search-result\"]'); "
        "return [r.left, r.right, r.width, window.innerWidth, row.scrollWidth <= row.clientWidth];"
    )
    assert box[2] >= 400 and box[0] >= 0 and box[1] <= box[3] and box[4], box
    app.shot("search-initials")
    search.send_keys(Keys.ENTER)
    app.wait_text("member-title", lambda t: "欧阳子涵" in t)

    # Enrol in the 48-lesson package with ¥300 off: ¥4,500.00 due.
    app.click("enrol-open")
    package_id, = app.sql("SELECT id FROM packages WHERE name = '48课时包'")[0]
    Select(app.el("enrol-package")).select_by_value(package_id)
    app.type("enrol-discount", "300")
    app.click("enrol-submit")
    app.wait_text("balance-due", lambda t: "4,500.00" in t)
    (contract_id, due), = app.sql("SELECT id, amount_due FROM contracts WHERE member_id = ?", member_id)
    assert due == 450000

    # A negative amount is refused, named, and saves nothing.
    payments_before = app.sql("SELECT COUNT(*) FROM payments")
    app.click("pay-open")
    app.type("pay-amount", "-100")
    Select(app.el("pay-method")).select_by_value("wechat")
    app.click("pay-submit")
    error = app.el("form-error").text
    assert "金额" in error and "负" in error, error
    app.shot("negative-amount")
    assert app.sql("SELECT COUNT(*) FROM payments") == payments_before

    # A partial payment leaves a balance due.
    app.type("pay-amount", "1000")
    app.click("pay-submit")
    app.el("receipt-view")
    app.shot("receipt")
    # The receipt as a PDF: the number, the amount in figures and in capitals.
    receipt_no = app.text_of("receipt-no")
    app.click("receipt-print-pdf")
    pdf = app.el("print-path", timeout=20).get_attribute("data-path")
    text = subprocess.run(["pdftotext", "-layout", pdf, "-"], capture_output=True, text=True, check=True).stdout.replace(" ", "")
    assert receipt_no in text and "¥1,000.00" in text and "人民币壹仟元整" in text, text
    if app.all("dialog-close"):
        app.click("dialog-close")
    app.wait_text("balance-due", lambda t: "3,500.00" in t)
    assert app.sql("SELECT amount, method FROM payments WHERE contract_id = ?", contract_id) == [(100000, "wechat")]
    staff = app.sql(
        "SELECT DISTINCT s.username FROM change_log l JOIN staff s ON s.id = l.staff_id WHERE l.subject_id = ?", member_id
    )
    assert staff == [("qiantai",)], staff
    app.shot("balance-due")

    # Switch to English: labels and the language of errors follow.
    app.click("lang-switch")
    WebDriverWait(app.driver, 5).until(lambda d: d.find_element("css selector", "html").get_attribute("lang") == "en")
    assert app.text_of("nav-members").startswith("Members"), app.text_of("nav-members")
    app.click("pay-open")
    app.type("pay-amount", "abc")
    app.click("pay-submit")
    error = app.el("form-error").text
    assert "Amount" in error, error
    app.shot("english-error")

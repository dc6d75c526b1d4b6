"""The language choice survives a restart, and permissions hold in the core even when
the UI is bypassed: a clerk calling a manager-only command is refused, in his language."""

from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait


def login(app, username, password="demo1234"):
    app.type("login-username", username)
    app.type("login-password", password + Keys.ENTER)
    app.el("nav-members", timeout=15)


def html_lang(app):
    return app.driver.find_element("css selector", "html").get_attribute("lang")


def invoke(app, command, args):
    """Calls a Tauri command from the page as the UI would, returning {ok} or {err}."""
    return app.driver.execute_async_script(
        """
        const [cmd, args, done] = arguments;
        window.__TAURI_INTERNALS__.invoke(cmd, args).then((ok) => done({ ok }), (err) => done({ err }));
        """,
        command,
        args,
    )


def test_english_is_remembered_after_a_restart(app):
    app.el("login-username", timeout=20)
    assert html_lang(app) == "zh-CN", "Chinese by default"
    app.click("lang-switch")
    WebDriverWait(app.driver, 5).until(lambda d: html_lang(app) == "en")
    app.shot("login-en")
    app.restart()
    app.el("login-username", timeout=20)
    WebDriverWait(app.driver, 5).until(lambda d: html_lang(app) == "en")
    login(app, "qiantai")
    assert app.text_of("nav-members").startswith("Members")
    app.shot("home-en-after-restart")


def test_a_clerk_cannot_change_prices_even_through_the_api(app):
    app.el("login-username", timeout=20)
    login(app, "qiantai")
    (package_id, price), = app.sql("SELECT id, price FROM packages WHERE name = '48课时包'")
    result = invoke(
        app,
        "package_update",
        {"packageId": package_id, "input": {"name": "48课时包", "kind": "lessons", "lessons": 48, "validity_days": 365, "term_months": None, "price": "1"}},
    )
    assert result.get("err", {}).get("code") == "forbidden", result
    assert "无权" in result["err"]["message"], result
    assert app.sql("SELECT price FROM packages WHERE id = ?", package_id) == [(price,)]
    # And a coach may not take a payment.
    app.click("lang-switch")
    invoke(app, "logout", {})
    app.restart()
    login(app, "jiaolian1")
    (contract_id,), = app.sql("SELECT id FROM contracts WHERE status = 'active' LIMIT 1")
    before = app.sql("SELECT COUNT(*) FROM payments")
    result = invoke(app, "payment_take", {"input": {"contract_id": contract_id, "amount": "10", "method": "cash", "note": ""}})
    assert result.get("err", {}).get("code") == "forbidden", result
    assert result["err"]["message"] == "Your role is not allowed to take payments", result
    assert app.sql("SELECT COUNT(*) FROM payments") == before

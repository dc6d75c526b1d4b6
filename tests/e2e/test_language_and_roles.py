"""The language choice survives a restart, and permissions hold in the core even when
the UI is bypassed: a clerk calling a manager-only command is refused, in his language."""

from selenium.webdriver.support.ui import WebDriverWait


def html_lang(app):
    return app.driver.find_element("css selector", "html").get_attribute("lang")


def test_english_is_remembered_after_a_restart(app):
    app.el("login-username", timeout=20)
    assert html_lang(app) == "zh-CN", "Chinese by default"
    app.click("lang-switch")
    WebDriverWait(app.driver, 5).until(lambda d: html_lang(app) == "en")
    app.shot("login-en")
    app.restart()
    app.el("login-username", timeout=20)
    WebDriverWait(app.driver, 5).until(lambda d: html_lang(app) == "en")
    app.login("qiantai")
    assert app.text_of("nav-members").startswith("Members")
    app.shot("home-en-after-restart")


def test_a_clerk_cannot_change_prices_even_through_the_api(app):
    app.el("login-username", timeout=20)
    app.login("qiantai")
    (package_id, price), = app.sql("SELECT id, price FROM packages WHERE name = '48课时包'")
    result = app.invoke(
        "package_update",
        {"packageId": package_id, "input": {"name": "48课时包", "kind": "lessons", "lessons": 48, "validity_days": 365, "term_months": None, "price": "1"}},
    )
    assert result.get("err", {}).get("code") == "forbidden", result
    assert "无权" in result["err"]["message"], result
    assert app.sql("SELECT price FROM packages WHERE id = ?", package_id) == [(price,)]
    # And a coach may not take a payment.
    app.click("lang-switch")
    app.invoke("logout", {})
    app.restart()
    app.login("jiaolian1")
    (contract_id,), = app.sql("SELECT id FROM contracts WHERE status = 'active' LIMIT 1")
    before = app.sql("SELECT COUNT(*) FROM payments")
    result = app.invoke("payment_take", {"input": {"contract_id": contract_id, "amount": "10", "method": "cash", "note": ""}})
    assert result.get("err", {}).get("code") == "forbidden", result
    assert result["err"]["message"] == "Your role is not allowed to take payments", result
    assert app.sql("SELECT COUNT(*) FROM payments") == before


def test_about_names_the_version_and_every_shipped_licence_in_both_languages(app):
    app.login("admin")
    app.click("nav-settings")
    about = app.el("about-panel")
    app.driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", about)
    version = app.call("app_info", {})["version"]
    assert app.text_of("about-version") == f"CentreDesk {version}"
    app.click("about-licences")
    count = app.wait_text("about-count", lambda t: "共" in t, timeout=10)
    # The font, the window's npm packages and every Rust crate the app ships.
    assert int("".join(ch for ch in count if ch.isdigit())) >= 400, count
    listed = app.text_of("about-list")
    for expected in ("OFL-1.1", "echarts 6.1.0", "svelte", "Apache-2.0", "MIT"):
        assert expected in listed, expected
    app.shot("about-zh")
    app.click("lang-switch")
    app.wait_text("about-count", lambda t: "components" in t)
    app.shot("about-en")

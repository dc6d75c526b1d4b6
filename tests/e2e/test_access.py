"""The shared front-desk PC: the desk locks (Ctrl+L, the header's button, or when left
idle) over the page it was on, only the same password opens it, and a staff member
disabled while logged in is sent back to the login screen at their next step."""

import sqlite3

from selenium.webdriver.common.keys import Keys
from selenium.webdriver.common.action_chains import ActionChains


def test_the_lock_keeps_the_page_and_asks_for_the_same_password(app):
    app.login("qiantai")
    app.click("nav-members")
    app.click("member-new")
    box = app.type("member-name", "王小明")
    # Ctrl+L locks, even over an open dialog.
    ActionChains(app.driver).key_down(Keys.CONTROL).send_keys("l").key_up(Keys.CONTROL).perform()
    app.el("unlock-password")
    # Behind the lock the shell refuses every call, whatever the page tries.
    assert app.invoke("home", {}).get("err", {}).get("code") == "auth.locked"
    app.shot("locked-zh")
    app.type("unlock-password", "wrong-password" + Keys.ENTER)
    assert "密码" in app.text_of("form-error")
    app.type("unlock-password", "demo1234" + Keys.ENTER)
    app.gone("desk-lock")
    # The page is as it was: the dialog still open, the name still typed in.
    assert box.get_attribute("value") == "王小明"
    assert "ok" in app.invoke("home", {})
    app.driver.find_element("css selector", "dialog[open] [data-testid=member-name]").send_keys(Keys.ESCAPE)
    app.gone("member-name")
    # The header's button locks too (here in English); "switch user" logs out from the lock.
    app.click("lang-switch")
    app.click("lock")
    app.el("unlock-password")
    app.shot("locked-en")
    app.click("lock-logout")
    app.el("login-username")


def test_a_disabled_clerk_is_sent_back_to_login_at_the_next_step(app):
    app.login("qiantai")
    # The manager disables the account from elsewhere (here: straight in the file, as a
    # second desk session would through the core) while the clerk is still logged in.
    con = sqlite3.connect(app.db)
    with con:
        con.execute("UPDATE staff SET active = 0 WHERE username = 'qiantai'")
    con.close()
    result = app.invoke("member_list", {"filter": {}})
    assert result.get("err", {}).get("code") == "auth.account_disabled", result
    app.click("nav-members")
    app.el("login-username")
    app.type("login-username", "qiantai")
    app.type("login-password", "demo1234" + Keys.ENTER)
    assert "停用" in app.text_of("form-error")


def test_support_finds_the_data_and_the_log_one_click_away(app):
    import os
    app.login("qiantai")
    app.click("nav-settings")
    app.click("open-data-folder")
    assert app.text_of("opened-folder") == os.path.dirname(str(app.db))
    app.click("open-log-folder")
    logs = app.wait_text("opened-folder", lambda t: t != os.path.dirname(str(app.db)))
    # The rotating log the app writes (tauri-plugin-log) is in that folder.
    assert os.path.isfile(os.path.join(logs, "centredesk.log")), os.listdir(logs)

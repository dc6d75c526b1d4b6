"""Backups in the real app: the manager backs up, a member is added afterwards, the
backup is restored (after confirming): the member is gone, the data from just before the
restore is kept as a backup of its own, and everyone logs in again."""

from pathlib import Path


def test_back_up_then_restore_keeping_the_current_data_aside(app):
    app.login("admin")
    app.click("nav-settings")
    app.el("backups-panel")
    # The app made the day's automatic backup when it started.
    app.wait_text("backups-panel", lambda t: "自动" in t)
    before = len(app.all("backup-row"))
    app.click("backup-now")
    app.wait_text("backups-panel", lambda t: len(app.all("backup-row")) == before + 1)
    manual = [r for r in app.all("backup-row") if r.get_attribute("data-kind") == "manual"][0]
    name = manual.get_attribute("data-file")
    assert (Path(app.db).parent / "backups" / name).exists()

    member = app.call("member_apply", {"input": {
        "name": "备份后登记", "gender": "F", "notes": "", "referred_by": None,
        "guardian": {"name": "备妈妈", "relation": "妈妈", "phone": "13700001111", "wechat": ""},
    }})
    assert app.sql("SELECT COUNT(*) FROM members WHERE id = ?", member["id"]) == [(1,)]

    [r for r in app.all("backup-row") if r.get_attribute("data-file") == name][0].find_element(
        "css selector", '[data-testid="backup-restore"]'
    ).click()
    app.shot("restore-confirm")
    app.click("confirm-ok")
    app.el("login-username", timeout=20)
    assert app.sql("SELECT COUNT(*) FROM members WHERE id = ?", member["id"]) == [(0,)]

    app.login("admin")
    app.click("nav-settings")
    app.wait_text("backups-panel", lambda t: "恢复前的数据" in t)
    app.shot("backups")

"""Backups in the real app: the manager backs up, a member is added afterwards, the
backup is restored (after confirming): the member is gone, the data from just before the
restore is kept as a backup of its own, and everyone logs in again."""

from pathlib import Path


def test_back_up_then_restore_keeping_the_current_data_aside(app):
    app.login("admin")
    app.click("nav-settings")
    app.el("backups-panel")
    # The app makes the day's automatic backup shortly after it starts (after a quiet
    # start of 20 s: src-tauri/src/background.rs).
    app.wait_text("backups-panel", lambda t: "自动" in t, timeout=60)
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


def test_a_second_backup_folder_is_written_and_its_failure_reaches_the_managers_home_screen(app, tmp_path):
    usb = tmp_path / "usb"
    usb.mkdir()
    app.login("admin")
    app.click("nav-settings")
    app.el("backups-panel")
    app.type("backup-second-dir", str(usb))
    app.click("backup-second-save")
    app.click("backup-now")
    # The copy is written as .partial and renamed once checked: wait for the rename.
    app.wait_text("backups-panel", lambda t: any(p.suffix == ".db" for p in usb.iterdir()))
    copies = [p.name for p in usb.iterdir()]
    assert len(copies) == 1 and copies[0].startswith("centredesk-") and copies[0].endswith(".db"), copies
    app.el("backup-last-ok")

    # The stick is pulled out (and something else takes its name).
    copies and (usb / copies[0]).unlink()
    usb.rmdir()
    usb.write_text("not a folder")
    app.click("backup-now")
    app.el("backup-second-error")
    app.shot("second-folder-failed")
    app.click("nav-home")
    assert "第二个位置" in app.text_of("home-backup-warning")
    app.shot("home-warning-zh")
    app.click("lang-switch")
    app.wait_text("home-backup-warning", lambda t: "second place" in t)
    app.shot("home-warning-en")
    # Its button opens the backups panel.
    app.el("home-backup-warning").find_element("css selector", "button").click()
    app.el("backup-second-error")

"""A desk whose database will not open: the window shows the recovery screen (both
languages, the file, the log folder, the good backups), never just disappears; choosing
the newest good backup keeps the damaged file aside and the desk starts on the backup."""

import sqlite3

import pytest

from conftest import centre_now, cli


@pytest.fixture
def demo_db(tmp_path):
    """The demo centre with one good backup (and one damaged copy beside it), then the
    database file itself overwritten, as a failing disk or a stray program does."""
    db = tmp_path / "e2e.db"
    cli("--db", str(db), "demo", "--members", "30", "--seed", "5")
    backups = tmp_path / "backups"
    backups.mkdir()
    stamp = centre_now().strftime("%Y%m%d-%H%M%S")
    src = sqlite3.connect(db)
    dest = sqlite3.connect(backups / f"centredesk-{stamp}-auto.db")
    src.backup(dest)
    dest.execute("PRAGMA journal_mode = DELETE")
    dest.close()
    src.close()
    (backups / "centredesk-20260101-080000.db").write_bytes(b"\x00" * 4096)
    for side in ("-wal", "-shm"):
        (tmp_path / f"e2e.db{side}").unlink(missing_ok=True)
    db.write_bytes(b"CentreDesk?" * 2000)
    return db


def test_a_damaged_database_offers_the_newest_good_backup_and_the_desk_starts_on_it(app):
    app.el("recovery", timeout=20)
    assert app.el("recovery").get_attribute("data-code") == "database.damaged"
    zh, en = app.text_of("recovery-zh-CN"), app.text_of("recovery-en")
    assert "数据库无法打开" in zh and "损坏" in zh
    assert "cannot be opened" in en and "damaged" in en
    assert app.text_of("recovery-db-path") == str(app.db)
    assert app.text_of("recovery-log-dir")
    # Only the copy that passes the check is offered.
    offered = [r.get_attribute("data-file") for r in app.all("recovery-backup")]
    assert len(offered) == 1 and offered[0].endswith("-auto.db"), offered
    app.shot("recovery")

    app.click("recovery-restore")
    app.login("admin")
    assert app.sql("SELECT COUNT(*) FROM members")[0][0] > 0
    kept = [p.name for p in app.db.parent.iterdir() if ".damaged-" in p.name]
    assert kept == [p for p in kept if p.startswith("e2e.db.damaged-")] and kept, kept
    assert app.sql("SELECT COUNT(*) FROM change_log WHERE entity = 'database' AND op = 'restore'") == [(1,)]
    app.shot("recovered")

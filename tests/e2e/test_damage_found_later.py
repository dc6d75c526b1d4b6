"""A desk whose database was closed cleanly opens at once and checks the whole file on the
side (`Core::open_desk`). When that check finds damage, the window goes to the recovery
screen asking for a restart, nothing more is read or written, and the next start checks
first and shows the recovery screen straight away."""

import pytest

from conftest import cli


@pytest.fixture
def demo_db(tmp_path):
    """The demo centre, then its last pages scribbled over while no desk had it open
    (opening and the login screen do not read them; the full check does)."""
    db = tmp_path / "e2e.db"
    cli("--db", str(db), "demo", "--members", "30", "--seed", "5")
    for side in ("-wal", "-shm"):
        assert not (tmp_path / f"e2e.db{side}").exists(), "the CLI closed the file cleanly"
    data = bytearray(db.read_bytes())
    page = 4096
    data[len(data) - 8 * page + 100 :] = b"\xa5" * (8 * page - 100)
    db.write_bytes(bytes(data))
    return db


def test_damage_found_after_opening_stops_the_desk_and_the_next_start_checks_first(app):
    recovery = app.el("recovery", timeout=30)
    assert recovery.get_attribute("data-code") == "database.damaged"
    zh, en = app.text_of("recovery-zh-CN"), app.text_of("recovery-en")
    assert "重新打开" in zh and "损坏" in zh, zh
    assert "start it again" in en, en
    assert not app.all("recovery-restore"), "nothing is restored under the open file"
    app.shot("damage-found")
    # The core refuses every call now (the window's own command, as a screen would call it).
    refused = app.invoke("app_info", {})
    assert refused.get("err", {}).get("code") == "database.damaged", refused
    marker = app.db.parent / "e2e.db.in-use"
    assert marker.exists(), "the damage is remembered for the next start"

    app.restart()
    app.el("recovery", timeout=30)
    assert app.el("recovery").get_attribute("data-code") == "database.damaged"
    assert not app.all("recovery-restart"), "checked before opening this time: the usual recovery screen"
    app.shot("damage-next-start")

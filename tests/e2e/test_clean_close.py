"""Closing the window closes the database cleanly (its in-use marker removed), so the next
start opens at once and checks the whole file on the side (`Core::open_desk`); a desk
that was killed instead checks first (tests/e2e/test_damage_found_later.py and the core's
tests)."""


def log_lines(home_dir, text):
    return [l for f in home_dir.glob("**/logs/centredesk.log") for l in f.read_text().splitlines() if text in l]


def test_closing_the_window_closes_the_file_cleanly_and_the_next_start_checks_after_opening(app, home_dir):
    app.el("login-username", timeout=20)
    marker = app.db.parent / f"{app.db.name}.in-use"
    assert marker.exists(), "the desk has the file open"
    app.close_window()
    assert not marker.exists(), "a clean close"
    assert log_lines(home_dir, "cleanly"), "the log says so"
    app.restart()
    app.login("admin")
    assert marker.exists()
    opened = log_lines(home_dir, " opened ")
    # The demo was made by the CLI (closed cleanly), and the window was closed: neither
    # start read the whole file before the window could show.
    assert len(opened) == 2 and all("checked after opening" in l for l in opened), opened
    app.shot("after-clean-close")

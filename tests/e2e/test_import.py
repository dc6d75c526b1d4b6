"""A centre moving in: the manager imports its members from a GBK CSV saved by Chinese
Excel. The preview names the encoding and every row's verdict (the bad phone and the
empty name are refused with the reason); importing creates exactly the accepted rows."""

from pathlib import Path

from selenium.webdriver.remote.file_detector import UselessFileDetector
from selenium.webdriver.support.ui import WebDriverWait

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "import" / "members-gb18030.csv"


def test_import_members_from_a_gbk_file(app):
    app.login("admin")
    app.click("nav-members")
    app.click("import-members")
    # The app runs on this machine: hand the path over as typed text, not an upload.
    app.driver.file_detector = UselessFileDetector()
    app.el("import-file").send_keys(str(FIXTURE))
    counts = app.el("import-counts", timeout=20)
    assert "GB18030" in app.text_of("import-encoding")
    accepted, merged, rejected = (int(counts.get_attribute(f"data-{k}")) for k in ("accepted", "merged", "rejected"))
    rows = app.all("import-row")
    assert accepted + merged + rejected == len(rows) and accepted > 0 and rejected >= 2
    refused = " ".join(r.text for r in rows if r.get_attribute("data-status") == "rejected")
    assert "电话" in refused and "姓名" in refused, refused
    app.shot("preview")

    (before,), = app.sql("SELECT COUNT(*) FROM members")
    app.click("import-commit")
    done = app.el("import-done", timeout=20)
    assert int(done.get_attribute("data-created")) == accepted
    WebDriverWait(app.driver, 5).until(lambda d: app.sql("SELECT COUNT(*) FROM members")[0][0] == before + accepted)
    app.shot("imported")

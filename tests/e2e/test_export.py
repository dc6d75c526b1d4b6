"""The manager exports lists for Excel from the real app: the CSV is written to
Documents/CentreDesk with a BOM and a Chinese header, every payment in it adds up to the
ledger; a clerk has no export button and the core refuses the command anyway."""

import csv
import io
from decimal import Decimal
from pathlib import Path



def read_csv(path):
    raw = Path(path).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "Excel needs the BOM to read Chinese"
    return list(csv.reader(io.StringIO(raw[3:].decode("utf-8"))))


def test_manager_exports_payments_and_members_for_excel(app):
    app.el("login-username", timeout=20)
    app.login("admin")
    app.click("nav-payments")
    app.click("export-payments")
    status = app.el("export-path", timeout=20)
    app.shot("payments-exported")
    path = status.get_attribute("data-path")
    assert Path(path).parent.name == "CentreDesk", path
    rows = read_csv(path)
    header, body = rows[0], rows[1:]
    assert header[:3] == ["收据号", "日期", "时间"], header
    assert len(body) == int(status.get_attribute("data-rows"))
    amount = header.index("金额")
    total = sum(Decimal(r[amount]) for r in body)
    (ledger,), = app.sql("SELECT SUM(amount) FROM payments")
    assert total == Decimal(ledger) / 100

    app.click("nav-members")
    app.click("export-members")
    members = read_csv(app.el("export-path", timeout=20).get_attribute("data-path"))
    (count,), = app.sql("SELECT COUNT(*) FROM members")
    assert members[0][:2] == ["会员号", "姓名"] and len(members) - 1 == count


def test_a_clerk_has_no_export_and_the_core_refuses_it(app):
    app.el("login-username", timeout=20)
    app.login("qiantai")
    app.click("nav-payments")
    assert not app.all("export-payments")
    request = {"list": "members", "from_date": "", "to_date": "", "bom": True, "machine_headers": False}
    result = app.invoke("export_csv", {"request": request, "action": "open"})
    assert result.get("err", {}).get("code") == "forbidden", result

"""The manager's figures from the real app: the revenue report (table, chart and CSV
equal to the ledger) and list exports for Excel: the CSV is written to
Documents/CentreDesk with a BOM and a Chinese header, every payment in it adds up to the
ledger; a clerk has no export button and the core refuses the command anyway."""

import datetime
from decimal import Decimal
from pathlib import Path

from conftest import centre_date, centre_today, read_desk_csv
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.support.ui import Select, WebDriverWait



def read_csv(path):
    return read_desk_csv(path)


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


def test_revenue_report_matches_the_ledger_with_chart_and_csv(app):
    app.login("admin")
    app.click("nav-reports")
    app.el("rev-total", timeout=20)
    # A year of the demo's history that ended a week ago.
    to = centre_today() - datetime.timedelta(days=7)
    since = to - datetime.timedelta(days=364)
    for field, value in [("rev-from", since.isoformat()), ("rev-to", to.isoformat())]:
        app.type(field, value)
    Select(app.el("rev-period")).select_by_value("month")
    app.click("rev-run")
    (ledger,), = app.sql("SELECT SUM(amount) FROM payments WHERE business_date BETWEEN ? AND ?", since.isoformat(), to.isoformat())
    # The whole year, by month: the total equals the ledger to the fen.
    WebDriverWait(app.driver, 10).until(lambda d: Decimal(app.el("rev-total").get_attribute("data-net")) == Decimal(ledger) / 100)
    months = [r.get_attribute("data-key") for r in app.el("rev-by_period").find_elements("css selector", '[data-testid="rev-row"]')]
    assert months[-1] == to.isoformat()[:7] and len(months) >= 12, months
    assert int(app.el("bar-chart").get_attribute("data-bars")) >= 12
    app.shot("revenue")
    app.click("rev-export")
    rows = read_csv(app.el("export-path", timeout=20).get_attribute("data-path"))
    assert rows[0][0] == "期间" and rows[-1][0] == "学费合计（不含商品）"
    assert Decimal(rows[-1][4]) == Decimal(ledger) / 100
    assert [r[0] for r in rows[1:-1]] == months


def test_attendance_report_by_class_matches_the_roll_calls(app):
    app.login("admin")
    app.click("nav-reports")
    app.click("report-tab-attendance")
    # The last whole month before the desk's today.
    last = centre_today().replace(day=1) - datetime.timedelta(days=1)
    month = (last.replace(day=1).isoformat(), last.isoformat())
    app.type("att-from", month[0])
    app.type("att-to", month[1])
    app.click("att-run")
    (present, absent), = app.sql(
        "SELECT SUM(a.mark = 'present'), SUM(a.mark = 'absent') FROM attendance a JOIN class_sessions s ON s.id = a.session_id "
        "WHERE s.date BETWEEN ? AND ?", *month
    )
    def total_row():
        rows = [r for r in app.all("att-row") if r.get_attribute("data-key") == "total"]
        return rows[0].find_elements("css selector", "td") if rows else []
    WebDriverWait(app.driver, 10).until(lambda d: total_row() and int(total_row()[2].text) == present)
    assert int(total_row()[4].text) == absent
    (groups,), = app.sql("SELECT COUNT(DISTINCT s.group_id) FROM attendance a JOIN class_sessions s ON s.id = a.session_id WHERE s.date BETWEEN ? AND ?", *month)
    assert len(app.all("att-row")) == groups + 1
    app.shot("attendance")
    app.click("att-export")
    rows = read_csv(app.el("export-path", timeout=20).get_attribute("data-path"))
    assert rows[0][0] == "班级" and rows[-1][0] == "合计" and int(rows[-1][2]) == present
    # By member: one row per child who had a lesson, the lowest rate first.
    (members,), = app.sql(
        "SELECT COUNT(DISTINCT a.member_id) FROM attendance a JOIN class_sessions s ON s.id = a.session_id "
        "WHERE s.date BETWEEN ? AND ? AND a.mark <> 'trial'", *month
    )
    Select(app.el("att-by")).select_by_value("member")
    def member_rates():
        return [int(r.get_attribute("data-rate") or 10**6) for r in app.all("att-row") if r.get_attribute("data-key") != "total"]
    WebDriverWait(app.driver, 10, ignored_exceptions=(StaleElementReferenceException,)).until(lambda d: len(member_rates()) == members)
    rates = member_rates()
    assert rates == sorted(rates) and rates[0] < 1000, rates[:5]
    app.shot("attendance-by-member")


def test_staff_activity_shows_who_did_what_today(app):
    app.login("admin")
    # The clerk's work of the day, done through the app's commands as the clerk.
    app.invoke("logout", {})
    app.restart()
    app.login("qiantai")
    app.call("member_apply", {"input": {
        "name": "今天登记", "gender": "M", "notes": "", "referred_by": None,
        "guardian": {"name": "今妈妈", "relation": "妈妈", "phone": "13700002222", "wechat": ""},
    }})
    app.invoke("logout", {})
    app.restart()
    app.login("admin")
    app.click("nav-reports")
    app.click("report-tab-activity")
    (clerk_id,), = app.sql("SELECT id FROM staff WHERE username = 'qiantai'")
    Select(app.el("act-staff")).select_by_value(clerk_id)
    # The report re-renders when the filter's results land; rows read in that moment go
    # stale and are simply read again. The unfiltered report shows the clerk's entry too,
    # so the wait is for the filtered one: only the clerk's counts.
    def only_the_clerk(d):
        staff_ids = [r.get_attribute("data-staff-id") for r in app.all("act-count")]
        entry = any("今天登记" in (r.get_attribute("textContent") or "") for r in app.all("act-entry"))
        return entry and staff_ids and all(s == clerk_id for s in staff_ids)

    try:
        WebDriverWait(app.driver, 10, ignored_exceptions=(StaleElementReferenceException,)).until(only_the_clerk)
    except TimeoutException:
        staff_ids = [r.get_attribute("data-staff-id") for r in app.all("act-count")]
        raise AssertionError(f"the filter shows others' counts too: {staff_ids}")
    app.shot("activity")


def test_renewals_sales_and_customer_value_tables(app):
    app.login("admin")
    app.click("nav-reports")
    app.click("report-tab-renewals")
    app.el("an-table-due", timeout=20)
    app.el("an-table-rate")
    app.shot("renewals")
    app.click("report-tab-sales")
    funnel = app.el("an-table-funnel", timeout=20)
    # The funnel counts the leads created in the default period: the last 365 business
    # days, in the centre's time zone, ending at the desk's today.
    today = centre_today()
    first = today - datetime.timedelta(days=364)
    leads = sum(1 for (at,) in app.sql("SELECT created_at FROM leads") if first <= centre_date(at) <= today)
    counted = sum(int(r.find_elements("css selector", "td")[1].text) for r in funnel.find_elements("css selector", '[data-testid="an-row"]'))
    assert counted == leads, (counted, leads)
    app.shot("sales")
    app.click("report-tab-customers")
    app.el("an-table-abc", timeout=20)
    app.shot("customers")
    app.click("an-export-abc")
    rows = read_csv(app.el("export-path", timeout=20).get_attribute("data-path"))
    assert rows[0][0] == "类别" and {r[0] for r in rows[1:]} <= {"A", "B", "C"}


def test_report_charts_in_both_languages(app):
    """The README's screenshots of the reports' charts (ECharts, bundled) at 1366×768:
    revenue by month and the sales funnel, in Chinese and then in English."""
    app.login("admin")
    app.click("nav-reports")
    app.el("rev-total", timeout=20)
    to = centre_today()
    since = to - datetime.timedelta(days=364)
    for field, value in [("rev-from", since.isoformat()), ("rev-to", to.isoformat())]:
        app.type(field, value)
    Select(app.el("rev-period")).select_by_value("month")
    app.click("rev-run")
    WebDriverWait(app.driver, 10).until(lambda d: int(app.el("bar-chart").get_attribute("data-bars")) >= 12)
    # The chart draws an SVG (the renderer bundled for offline use), with its axes' labels.
    svg = app.el("bar-chart").find_element("css selector", "svg")
    # (the month labels carry the year of the day the suite runs at, E2E_NOW's in the centre)
    html = svg.get_attribute("innerHTML")
    assert str(to.year) in html or "月" in html, html[:300]
    app.shot("charts-revenue-zh")
    # "Save picture": a PNG of the chart, twice its size, written beside the CSVs.
    app.driver.find_elements("css selector", '[data-testid="chart-save"]')[0].click()
    saved = app.el("chart-saved", timeout=20).get_attribute("data-path")
    with open(saved, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n", head
    width, height = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    assert width >= 1000 and height >= 400, (width, height)
    assert saved.endswith(".png") and "收支走势" in saved, saved
    app.click("report-tab-sales")
    app.el("an-table-funnel", timeout=20)
    app.shot("charts-sales-zh")
    app.click("lang-switch")
    app.click("report-tab-revenue")
    app.el("rev-total", timeout=20)
    for field, value in [("rev-from", since.isoformat()), ("rev-to", to.isoformat())]:
        app.type(field, value)
    Select(app.el("rev-period")).select_by_value("month")
    app.click("rev-run")
    WebDriverWait(app.driver, 10).until(lambda d: int(app.el("bar-chart").get_attribute("data-bars")) >= 12)
    app.shot("charts-revenue-en")
    app.click("report-tab-sales")
    app.el("an-table-funnel", timeout=20)
    app.shot("charts-sales-en")


def test_monthly_scorecard_by_month_consultant_and_coach(app):
    """The manager's monthly scorecard 经营月报 over the default period (the last 365 days
    in the centre's time zone): a row per month with the retention rate drawn as a line,
    the same measures per consultant and per coach, the month table's CSV with the same
    rows — and the members new in the period, counted here from the contracts, equal the
    months' sum and the consultants' sum."""
    app.login("admin")
    app.click("nav-reports")
    app.click("report-tab-scorecard")
    months = app.el("an-table-months", timeout=20)
    consultants = app.el("an-table-consultants")
    app.el("an-table-coaches")
    today = centre_today()
    first = today - datetime.timedelta(days=364)
    expected = (today.year - first.year) * 12 + today.month - first.month + 1
    rows = lambda table: [[td.text for td in r.find_elements("css selector", "td")] for r in table.find_elements("css selector", '[data-testid="an-row"]')]
    month_rows = rows(months)
    assert [r[0] for r in month_rows][-1] == today.strftime("%Y-%m") and len(month_rows) == expected, month_rows
    (new,), = app.sql(
        """SELECT COUNT(*) FROM (SELECT member_id, MIN(start_date) AS f FROM contracts WHERE status <> 'refunded' GROUP BY member_id) x
           JOIN members m ON m.id = x.member_id WHERE m.merged_into IS NULL AND m.status <> 'applicant' AND x.f BETWEEN ? AND ?""",
        first.isoformat(), today.isoformat(),
    )
    assert new > 0, "the demo enrols members all year"
    assert sum(int(r[2]) for r in month_rows) == new
    assert sum(int(r[2]) for r in rows(consultants)) == new
    assert months.find_elements("css selector", '[data-testid="bar-chart"] svg'), "the retention line is drawn"
    app.shot("scorecard-zh")
    app.click("an-export-months")
    csv_rows = read_csv(app.el("export-path", timeout=20).get_attribute("data-path"))
    assert csv_rows[0][:6] == ["月份", "在读会员", "新增", "续费", "流失", "留存率"], csv_rows[0]
    assert [r[0] for r in csv_rows[1:]] == [r[0] for r in month_rows]
    app.click("lang-switch")
    app.click("report-tab-scorecard")
    app.wait_text("an-table-months", lambda text: "Retention" in text, timeout=20)
    app.shot("scorecard-en")
    app.click("lang-switch")

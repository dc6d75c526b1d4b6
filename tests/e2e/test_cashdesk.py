"""The desk takes a bottle of water back against today's sale (stock goes back up, the
cash paid back is recorded), then the manager counts the clerk's cash, records the
hand-in a yuan short and sees the difference in the cash reconciliation. And a day on
which the clerk paid out more cash than came in: the system's figure is negative and the
difference follows the same rule (handed in − due)."""

from decimal import Decimal

from conftest import centre_today
from selenium.webdriver.common.keys import Keys
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.support.ui import WebDriverWait


def wait(app, timeout=10):
    # Rows re-render when the data reloads: a stale row just means look again.
    return WebDriverWait(app.driver, timeout, ignored_exceptions=[StaleElementReferenceException])


def row_by(app, testid, **attrs):
    for r in app.all(testid):
        if all(r.get_attribute(f"data-{k}") == v for k, v in attrs.items()):
            return r
    return None


def difference(handed: str, due: str) -> str:
    """The reconciliation's rule (cash.rs): handed in − what the system says is due."""
    return str((Decimal(handed or "0") - Decimal(due)).quantize(Decimal("0.01")))


def water(app):
    (goods_id, price, stock), = app.sql("SELECT id, price, stock FROM goods WHERE name = '矿泉水'")
    return goods_id, price, stock


def test_return_goods_then_reconcile_the_clerks_cash(app):
    (clerk_id,), = app.sql("SELECT id FROM staff WHERE username = 'qiantai'")
    today = centre_today().isoformat()
    goods_id, price, _ = water(app)

    app.login("qiantai")
    # The clerk sells three bottles of water for cash and hands them over (whatever the
    # hour: the demo's own sales of today depend on when its history ends).
    sale = app.call("goods_sell", {"input": {"goods_id": goods_id, "quantity": 3, "member_id": None, "method": "cash", "delivered": True, "note": ""}})
    sale_id, quantity = sale["id"], sale["quantity"]
    assert sale["business_date"] == today, (sale["business_date"], today)
    (stock,), = app.sql("SELECT stock FROM goods WHERE id = ?", goods_id)
    app.click("nav-goods")
    app.click("goods-tab-today")
    row = wait(app, 20).until(lambda d: row_by(app, "sale-row", id=sale_id))
    app.driver.execute_script("arguments[0].focus()", row)
    row.send_keys(Keys.ENTER)
    app.el("return-dialog")
    assert app.el("return-quantity").get_attribute("value") == str(quantity), "all that is left, by default"
    app.type("return-quantity", "1")
    app.type("return-reason", "瓶子漏水")
    wait(app).until(lambda d: "¥" in app.text_of("return-back") and "现金" in app.text_of("return-back"))
    app.shot("return")
    app.el("return-reason").send_keys(Keys.ENTER)
    app.gone("return-dialog")
    wait(app).until(lambda d: (row_by(app, "sale-row", id=sale_id) or row).get_attribute("data-returned") == "1")
    (returned, amount, method), = app.sql("SELECT quantity, amount, method FROM goods_returns WHERE sale_id = ?", sale_id)
    assert (returned, amount, method) == (1, price, "cash"), "one bottle's price back in cash"
    # Stock back up by one, in the app and in the file; the ledger agrees.
    app.click("goods-tab-items")
    wait(app).until(lambda d: (row_by(app, "goods-row", id=goods_id) or row).get_attribute("data-stock") == str(stock + 1))
    (after, ledger), = app.sql("SELECT stock, (SELECT SUM(quantity) FROM stock_moves WHERE goods_id = ?1) FROM goods WHERE id = ?1", goods_id)
    assert after == ledger == stock + 1
    app.click("goods-tab-returns")
    wait(app).until(lambda d: row_by(app, "return-row", sale=sale_id) is not None)
    app.shot("returns")

    # The manager counts the clerk's cash for today.
    app.restart()
    app.login("admin")
    app.click("nav-reports")
    app.click("report-tab-cash")
    line = wait(app, 20).until(lambda d: row_by(app, "cash-row", staff=clerk_id, date=today))
    net = line.get_attribute("data-net")
    assert Decimal(net) > 0, "today's sale less the bottle paid back"
    assert line.get_attribute("data-difference") == difference("0", net), "nothing handed in yet"
    # The demo's clerk was ¥10 short three days ago: shown short.
    short_days = [r.get_attribute("data-date") for r in app.all("cash-row") if r.get_attribute("data-staff") == clerk_id and r.get_attribute("data-difference") == "-10.00"]
    assert len(short_days) == 1, short_days
    app.driver.execute_script("arguments[0].focus()", line)
    line.send_keys(Keys.ENTER)
    app.el("handin-dialog")
    due = app.text_of("handin-due")
    handed = str(Decimal(net) - Decimal("1.00"))
    app.type("handin-amount", handed)
    app.type("handin-note", "少一元")
    app.shot("handin")
    app.el("handin-amount").send_keys(Keys.ENTER)
    app.gone("handin-dialog")
    line = wait(app).until(lambda d: (r := row_by(app, "cash-row", staff=clerk_id, date=today)) is not None and r.get_attribute("data-handed") == handed and r)
    assert line.get_attribute("data-difference") == difference(handed, net) == "-1.00"
    assert "短款" in line.text and "-¥1.00" in line.text, line.text
    assert due.replace(",", "").endswith(net), (due, net)
    (stored,), = app.sql("SELECT amount FROM cash_handins WHERE staff_id = ? AND business_date = ? AND voided_at IS NULL", clerk_id, today)
    assert Decimal(stored) / 100 == Decimal(handed)
    app.shot("reconciliation")
    # The goods in/out report shows the return.
    app.click("report-tab-goods")
    app.el("an-table-goods_in_out", timeout=20)
    app.shot("goods-in-out")


def test_a_day_with_more_cash_paid_out_than_taken_in(app):
    """A second clerk, on her first day, takes back a uniform sold earlier in the week and
    pays it back in cash: she took no cash today, so the system's figure for her is
    negative (−¥180.00), and with nothing handed in the difference is its opposite, by the
    same rule as every other line."""
    today = centre_today().isoformat()
    (sale_id, amount), = app.sql(
        """SELECT s.id, s.amount FROM goods_sales s JOIN goods g ON g.id = s.goods_id WHERE g.name = '道服'
           AND s.method = 'cash' AND s.business_date < ? AND s.returned = 0 ORDER BY s.business_date DESC LIMIT 1""",
        today,
    )
    app.login("admin")
    new = app.call("staff_create", {"input": {"username": "qiantai2", "display_name": "周婷", "role": "clerk", "password": "demo1234"}})
    app.restart()
    app.login("qiantai2")
    back = app.call("goods_return", {"input": {"sale_id": sale_id, "quantity": 1, "reason": "尺码不合适"}})
    assert back["method"] == "cash" and back["business_date"] == today, back

    app.restart()
    app.login("admin")
    app.click("nav-reports")
    app.click("report-tab-cash")
    line = wait(app, 20).until(lambda d: row_by(app, "cash-row", staff=new["id"], date=today))
    net = line.get_attribute("data-net")
    assert Decimal(net) == -Decimal(amount) / 100 < 0, (net, amount)
    assert line.get_attribute("data-difference") == difference("0", net) == str((Decimal(amount) / 100).quantize(Decimal("0.01"))), "handed in − due"
    app.shot("cash-out-more-than-in")

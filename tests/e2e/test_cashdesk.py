"""The desk takes a bottle of water back against today's sale (stock goes back up, the
cash paid back is recorded), then the manager counts the clerk's cash, records the
hand-in a yuan short and sees the difference in the cash reconciliation."""

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


def test_return_goods_then_reconcile_the_clerks_cash(app):
    (clerk_id,), = app.sql("SELECT id FROM staff WHERE username = 'qiantai'")
    (today,), = app.sql("SELECT MAX(business_date) FROM goods_sales")
    # Today's cash sale of water by the clerk (the demo's), handed over, nothing back yet.
    (sale_id, goods_id, quantity), = app.sql(
        """SELECT g.id, g.goods_id, g.quantity FROM goods_sales g WHERE g.staff_id = ? AND g.business_date = ?
           AND g.method = 'cash' AND g.delivered_at IS NOT NULL AND g.returned = 0 ORDER BY g.sold_at LIMIT 1""",
        clerk_id,
        today,
    )
    (stock,), = app.sql("SELECT stock FROM goods WHERE id = ?", goods_id)
    (price,), = app.sql("SELECT price FROM goods WHERE id = ?", goods_id)

    app.login("qiantai")
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
    assert line.get_attribute("data-difference") == ("-" + net if net != "0.00" else "0.00"), "nothing handed in yet"
    # The demo's clerk was ¥10 short three days ago: shown short.
    short_days = [r.get_attribute("data-date") for r in app.all("cash-row") if r.get_attribute("data-staff") == clerk_id and r.get_attribute("data-difference") == "-10.00"]
    assert len(short_days) == 1, short_days
    app.driver.execute_script("arguments[0].focus()", line)
    line.send_keys(Keys.ENTER)
    app.el("handin-dialog")
    due = app.text_of("handin-due")
    net_fen = round(float(net) * 100)  # test arithmetic only
    handed = f"{(net_fen - 100) // 100}.{(net_fen - 100) % 100:02d}"
    app.type("handin-amount", handed)
    app.type("handin-note", "少一元")
    app.shot("handin")
    app.el("handin-amount").send_keys(Keys.ENTER)
    app.gone("handin-dialog")
    line = wait(app).until(lambda d: (r := row_by(app, "cash-row", staff=clerk_id, date=today)) is not None and r.get_attribute("data-handed") == handed and r)
    assert line.get_attribute("data-difference") == "-1.00"
    assert "短款" in line.text and "-¥1.00" in line.text, line.text
    assert due.replace(",", "").endswith(net), (due, net)
    (stored,), = app.sql("SELECT amount FROM cash_handins WHERE staff_id = ? AND business_date = ? AND voided_at IS NULL", clerk_id, today)
    assert stored == net_fen - 100
    app.shot("reconciliation")
    # The goods in/out report shows the return.
    app.click("report-tab-goods")
    app.el("an-table-goods_in_out", timeout=20)
    app.shot("goods-in-out")

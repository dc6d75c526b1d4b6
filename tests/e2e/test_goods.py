"""The desk sells a bottle of water for points: the member's points and the stock both
drop, in the app and in the database; a sale left to hand over is listed until a coach
hands it over."""

from selenium.webdriver.common.keys import Keys
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.support.ui import Select, WebDriverWait


def wait(app, timeout=10):
    # Rows re-render when the data reloads: a stale row just means look again.
    return WebDriverWait(app.driver, timeout, ignored_exceptions=[StaleElementReferenceException])


def test_a_bottle_of_water_for_points(app):
    app.login("qiantai")
    (water_id, stock), = app.sql("SELECT id, stock FROM goods WHERE name = '矿泉水'")
    # A member with enough points (the demo's payments and lessons earned them).
    (member_id, name, balance), = app.sql(
        """SELECT m.id, m.name, SUM(p.delta) FROM members m JOIN points_ledger p ON p.member_id = m.id
           WHERE m.status = 'active' GROUP BY m.id HAVING SUM(p.delta) >= 30
           AND (SELECT COUNT(*) FROM members x WHERE x.name = m.name) = 1 ORDER BY m.member_no LIMIT 1"""
    )
    app.click("nav-goods")
    row = wait(app, 20).until(lambda d: next((r for r in app.all("goods-row") if r.get_attribute("data-id") == water_id), None))
    assert row.get_attribute("data-stock") == str(stock)
    app.driver.execute_script("arguments[0].focus()", row)
    row.send_keys(Keys.ENTER)
    app.el("sell-dialog")
    search = app.type("sell-member", name)
    wait(app, 5).until(lambda d: any(r.get_attribute("data-id") == member_id for r in app.all("picker-result")))
    search.send_keys(Keys.ENTER)
    assert f"{balance}" in app.el("sell-member-chosen").text
    Select(app.el("sell-method")).select_by_value("points")
    assert "30" in app.el("sell-total").text
    app.el("sell-delivered").click()  # the coach will hand it over after class
    app.shot("sell")
    app.click("sell-submit")
    wait(app).until(
        lambda d: next(r for r in app.all("goods-row") if r.get_attribute("data-id") == water_id).get_attribute("data-stock") == str(stock - 1)
    )
    (after,), = app.sql("SELECT SUM(delta) FROM points_ledger WHERE member_id = ?", member_id)
    assert after == balance - 30
    (sale_id, method, points, delivered), = app.sql("SELECT id, method, points, delivered_at FROM goods_sales WHERE member_id = ?", member_id)
    assert (method, points, delivered) == ("points", 30, None)

    app.click("goods-tab-undelivered")
    wait(app).until(lambda d: any(r.get_attribute("data-id") == sale_id for r in app.all("sale-row")))
    app.shot("undelivered")
    app.click("sale-deliver")
    wait(app).until(lambda d: not any(r.get_attribute("data-id") == sale_id for r in app.all("sale-row")))
    (by,), = app.sql("SELECT s.username FROM goods_sales g JOIN staff s ON s.id = g.delivered_by WHERE g.id = ?", sale_id)
    assert by == "qiantai"

//! Goods 物品 and stock: items with a money price and a points price, a stock ledger of
//! every movement (purchase in, sale out, adjustment with reason, return), and sales at
//! the desk or by a coach — paid in money or in a member's points — each marked delivered
//! by whoever handed it over. `goods.stock` always equals the sum of the item's moves
//! (both are written in one transaction) and can never go below zero: a sale needs the
//! stock, and only a counted adjustment changes it otherwise.
//!
//! Returns 退货: all or part of a sale comes back (never more than sold less what already
//! came back, `goods_sales.returned`), with a reason, in one transaction: a `return`
//! stock move puts it back on the shelf, a `goods_returns` row (append-only) records the
//! money paid back by the sale's own method — a share of the sale's amount, cumulative, so
//! returning everything pays back exactly the amount — or, for a points sale, a points
//! entry gives the points back; points a money sale earned are taken back in proportion.
//! A sale not yet handed over is cancelled the same way (kind `cancel`). Cash paid back
//! counts as cash out for whoever paid it in the reconciliation (`cash.rs`).

use crate::auth::{Action, Session};
use crate::db::{Core, WriteTx};
use crate::error::{Conflict, CoreError, Field, Result, Rule};
use crate::money::Money;
use crate::{members, payments, points, validate};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct Goods {
    pub id: String,
    pub name: String,
    pub category: String,
    pub price: Money,
    /// Price in points, when the item can be had for points.
    pub points_price: Option<i64>,
    pub stock: i64,
    pub archived: bool,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Deserialize, TS)]
#[ts(export)]
pub struct GoodsInput {
    pub name: String,
    pub category: String,
    pub price: String,
    pub points_price: Option<i64>,
}

/// Stock in or out other than a sale: `purchase` and `return` add `quantity`; `adjust`
/// adds it with its sign (a count found 2 short is −2) and needs a reason.
#[derive(Debug, Clone, Deserialize, TS)]
#[ts(export)]
pub struct StockInput {
    pub goods_id: String,
    pub kind: String,
    pub quantity: i64,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct StockMove {
    pub id: String,
    pub goods_id: String,
    pub goods_name: String,
    pub kind: String,
    pub quantity: i64,
    pub reason: String,
    pub sale_id: Option<String>,
    pub staff_name: String,
    pub at: String,
}

#[derive(Debug, Clone, Deserialize, TS)]
#[ts(export)]
pub struct SaleInput {
    pub goods_id: String,
    pub quantity: i64,
    pub member_id: Option<String>,
    /// A payment method, or `points`.
    pub method: String,
    /// Handed over at once by the seller.
    pub delivered: bool,
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct GoodsSale {
    pub id: String,
    pub sale_no: String,
    pub goods_id: String,
    pub goods_name: String,
    pub member_id: Option<String>,
    pub member_name: Option<String>,
    pub quantity: i64,
    pub method: String,
    pub amount: Money,
    pub points: i64,
    pub staff_name: String,
    pub sold_at: String,
    pub business_date: String,
    pub delivered_by_name: Option<String>,
    pub delivered_at: Option<String>,
    pub note: String,
    /// How many of `quantity` came back (returned or cancelled).
    pub returned: i64,
}

/// Taking back `quantity` of a sale, with the reason.
#[derive(Debug, Clone, Deserialize, TS)]
#[ts(export)]
pub struct ReturnInput {
    pub sale_id: String,
    pub quantity: i64,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[ts(export)]
pub struct GoodsReturn {
    pub id: String,
    pub return_no: String,
    pub sale_id: String,
    pub sale_no: String,
    pub goods_id: String,
    pub goods_name: String,
    pub member_id: Option<String>,
    pub member_name: Option<String>,
    /// `return`, or `cancel` for a sale not yet handed over.
    pub kind: String,
    pub quantity: i64,
    /// The sale's method: how the money (or the points) went back.
    pub method: String,
    pub amount: Money,
    pub points: i64,
    pub reason: String,
    pub staff_name: String,
    pub at: String,
    pub business_date: String,
}

pub const STOCK_KINDS: &[&str] = crate::vocab::StockKind::CODES;

const GOODS_COLUMNS: &str = "id, name, category, price, points_price, stock, archived, created_at, updated_at";

fn goods_from_row(r: &rusqlite::Row) -> rusqlite::Result<Goods> {
    Ok(Goods {
        id: r.get("id")?,
        name: r.get("name")?,
        category: r.get("category")?,
        price: r.get("price")?,
        points_price: r.get("points_price")?,
        stock: r.get("stock")?,
        archived: r.get("archived")?,
        created_at: r.get("created_at")?,
        updated_at: r.get("updated_at")?,
    })
}

pub(crate) fn load(c: &Connection, id: &str) -> Result<Goods> {
    c.query_row(&format!("SELECT {GOODS_COLUMNS} FROM goods WHERE id = ?1"), [id], goods_from_row)
        .optional()?
        .ok_or(CoreError::NotFound(Field::Goods))
}

const SALE_SELECT: &str = "SELECT g.id, g.sale_no, g.goods_id, g.goods_name, g.member_id, m.name AS member_name, g.quantity, g.method, g.amount, g.points,
        s.display_name AS staff_name, g.sold_at, g.business_date, d.display_name AS delivered_by_name, g.delivered_at, g.note, g.returned
     FROM goods_sales g JOIN staff s ON s.id = g.staff_id LEFT JOIN staff d ON d.id = g.delivered_by LEFT JOIN members m ON m.id = g.member_id";

fn sale_from_row(r: &rusqlite::Row) -> rusqlite::Result<GoodsSale> {
    Ok(GoodsSale {
        id: r.get("id")?,
        sale_no: r.get("sale_no")?,
        goods_id: r.get("goods_id")?,
        goods_name: r.get("goods_name")?,
        member_id: r.get("member_id")?,
        member_name: r.get("member_name")?,
        quantity: r.get("quantity")?,
        method: r.get("method")?,
        amount: r.get("amount")?,
        points: r.get("points")?,
        staff_name: r.get("staff_name")?,
        sold_at: r.get("sold_at")?,
        business_date: r.get("business_date")?,
        delivered_by_name: r.get("delivered_by_name")?,
        delivered_at: r.get("delivered_at")?,
        note: r.get("note")?,
        returned: r.get("returned")?,
    })
}

const RETURN_SELECT: &str = "SELECT r.id, r.return_no, r.sale_id, g.sale_no, r.goods_id, g.goods_name, g.member_id, m.name AS member_name, r.kind, r.quantity, r.method, r.amount, r.points,
        r.reason, s.display_name AS staff_name, r.at, r.business_date
     FROM goods_returns r JOIN goods_sales g ON g.id = r.sale_id JOIN staff s ON s.id = r.staff_id LEFT JOIN members m ON m.id = g.member_id";

fn return_from_row(r: &rusqlite::Row) -> rusqlite::Result<GoodsReturn> {
    Ok(GoodsReturn {
        id: r.get("id")?,
        return_no: r.get("return_no")?,
        sale_id: r.get("sale_id")?,
        sale_no: r.get("sale_no")?,
        goods_id: r.get("goods_id")?,
        goods_name: r.get("goods_name")?,
        member_id: r.get("member_id")?,
        member_name: r.get("member_name")?,
        kind: r.get("kind")?,
        quantity: r.get("quantity")?,
        method: r.get("method")?,
        amount: r.get("amount")?,
        points: r.get("points")?,
        reason: r.get("reason")?,
        staff_name: r.get("staff_name")?,
        at: r.get("at")?,
        business_date: r.get("business_date")?,
    })
}

/// The part of `whole` that belongs to items `from..to` of `count`, so that the parts of
/// successive returns add up to exactly `whole` when everything comes back.
fn share(whole: i64, from: i64, to: i64, count: i64) -> i64 {
    whole * to / count - whole * from / count
}

fn load_sale(c: &Connection, id: &str) -> Result<GoodsSale> {
    c.query_row(&format!("{SALE_SELECT} WHERE g.id = ?1"), [id], sale_from_row)
        .optional()?
        .ok_or(CoreError::NotFound(Field::Sale))
}

fn check_input(input: &GoodsInput) -> Result<(String, String, Money, Option<i64>)> {
    let name = validate::required_text(Field::Name, &input.name, 40)?;
    let category = validate::optional_text(Field::Category, &input.category, 20)?;
    let price = validate::non_negative_money(Field::Price, &input.price)?;
    if let Some(p) = input.points_price {
        validate::int_in(Field::PointsPrice, p, 1, 1_000_000)?;
    }
    Ok((name, category, price, input.points_price))
}

/// Records one movement and moves the stock with it; the CHECK on `goods.stock` is the
/// last guard, the caller's check gives the clear message.
fn move_stock(w: &mut WriteTx, goods_id: &str, kind: &str, quantity: i64, reason: &str, sale_id: Option<&str>) -> Result<Goods> {
    let g = load(w, goods_id)?;
    if g.stock + quantity < 0 {
        return Err(CoreError::Conflict(Conflict::NotEnoughStock { name: g.name, on_hand: g.stock }));
    }
    let id = crate::new_id();
    let staff = w.staff_id().unwrap_or_default().to_string();
    let now = w.now_text();
    w.execute(
        "INSERT INTO stock_moves (id, goods_id, kind, quantity, reason, sale_id, staff_id, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![id, goods_id, kind, quantity, reason, sale_id, staff, now],
    )?;
    w.execute("UPDATE goods SET stock = stock + ?2, updated_at = ?3 WHERE id = ?1", params![goods_id, quantity, now])?;
    let g = load(w, goods_id)?;
    w.log("stock_move", &id, kind, None, &serde_json::json!({ "id": id, "goods_id": goods_id, "kind": kind, "quantity": quantity, "reason": reason, "sale_id": sale_id, "stock": g.stock }))?;
    Ok(g)
}

impl Core {
    pub fn goods_list(&self, session: &Session, include_archived: bool) -> Result<Vec<Goods>> {
        session.require(Action::ViewMembers)?;
        self.read(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {GOODS_COLUMNS} FROM goods WHERE ?1 OR archived = 0 ORDER BY archived, category, name"
            ))?;
            let rows = stmt.query_map([include_archived], goods_from_row)?.collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
    }

    pub fn goods_create(&self, session: &Session, input: GoodsInput) -> Result<Goods> {
        session.require(Action::ManageGoods)?;
        let (name, category, price, points_price) = check_input(&input)?;
        self.write(session, |w| {
            let id = crate::new_id();
            let now = w.now_text();
            w.execute(
                "INSERT INTO goods (id, name, category, price, points_price, stock, archived, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, 0, 0, ?6, ?6)",
                params![id, name, category, price, points_price, now],
            )?;
            let g = load(w, &id)?;
            w.log("goods", &id, "create", None, &g)?;
            Ok(g)
        })
    }

    pub fn goods_update(&self, session: &Session, goods_id: &str, input: GoodsInput, archived: bool) -> Result<Goods> {
        session.require(Action::ManageGoods)?;
        let (name, category, price, points_price) = check_input(&input)?;
        self.write(session, |w| {
            load(w, goods_id)?;
            w.execute(
                "UPDATE goods SET name = ?2, category = ?3, price = ?4, points_price = ?5, archived = ?6, updated_at = ?7 WHERE id = ?1",
                params![goods_id, name, category, price, points_price, archived, w.now_text()],
            )?;
            let g = load(w, goods_id)?;
            w.log("goods", goods_id, "update", None, &g)?;
            Ok(g)
        })
    }

    /// Stock in (purchase, return) or a counted adjustment (manager).
    pub fn goods_stock(&self, session: &Session, input: StockInput) -> Result<Goods> {
        session.require(Action::ManageGoods)?;
        let kind = STOCK_KINDS
            .iter()
            .copied()
            .find(|k| *k == input.kind)
            .ok_or_else(|| CoreError::invalid(Field::StockKind, Rule::OneOf { allowed: STOCK_KINDS.iter().map(|s| s.to_string()).collect() }))?;
        let reason = validate::optional_text(Field::Reason, &input.reason, 100)?;
        match kind {
            "adjust" => {
                if input.quantity == 0 {
                    return Err(CoreError::invalid(Field::Quantity, Rule::Required));
                }
                validate::int_in(Field::Quantity, input.quantity, -100_000, 100_000)?;
                if reason.is_empty() {
                    return Err(CoreError::invalid(Field::Reason, Rule::Required));
                }
            }
            _ => {
                validate::int_in(Field::Quantity, input.quantity, 1, 100_000)?;
            }
        }
        self.write(session, |w| move_stock(w, &input.goods_id, kind, input.quantity, &reason, None))
    }

    pub fn goods_moves(&self, session: &Session, goods_id: &str) -> Result<Vec<StockMove>> {
        session.require(Action::ViewMembers)?;
        self.read(|c| {
            load(c, goods_id)?;
            let mut stmt = c.prepare(
                "SELECT m.id, m.goods_id, g.name, m.kind, m.quantity, m.reason, m.sale_id, s.display_name, m.at
                 FROM stock_moves m JOIN goods g ON g.id = m.goods_id JOIN staff s ON s.id = m.staff_id
                 WHERE m.goods_id = ?1 ORDER BY m.at DESC, m.rowid DESC LIMIT 500",
            )?;
            let rows = stmt
                .query_map([goods_id], |r| {
                    Ok(StockMove {
                        id: r.get("id")?,
                        goods_id: r.get("goods_id")?,
                        goods_name: r.get("name")?,
                        kind: r.get("kind")?,
                        quantity: r.get("quantity")?,
                        reason: r.get("reason")?,
                        sale_id: r.get("sale_id")?,
                        staff_name: r.get("display_name")?,
                        at: r.get("at")?,
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
    }

    /// A sale at the desk or by a coach: money (any payment method) or a member's points.
    pub fn goods_sell(&self, session: &Session, input: SaleInput) -> Result<GoodsSale> {
        session.require(Action::SellGoods)?;
        let sold = self.write(session, |w| goods_sell_in(w, &input))?;
        self.read(|c| load_sale(c, &sold.id))
    }

    /// Marks a sale handed over, by the staff member who handed it over.
    pub fn goods_deliver(&self, session: &Session, sale_id: &str) -> Result<GoodsSale> {
        self.write(session, |w| goods_deliver_in(w, session, sale_id))
    }

    /// Sales of a period (business dates), newest first; `undelivered` keeps only those
    /// not yet handed over, whenever sold.
    pub fn goods_sales(&self, session: &Session, from_date: &str, to_date: &str, undelivered: bool) -> Result<Vec<GoodsSale>> {
        session.require(Action::ViewMembers)?;
        let from = validate::date(Field::FromDate, from_date)?.to_string();
        let to = validate::date(Field::ToDate, to_date)?.to_string();
        self.read(|c| {
            let mut stmt = c.prepare(&format!(
                "{SALE_SELECT} WHERE (?3 AND g.delivered_at IS NULL AND g.returned < g.quantity) OR (NOT ?3 AND g.business_date BETWEEN ?1 AND ?2) ORDER BY g.sold_at DESC LIMIT 1000"
            ))?;
            let rows = stmt.query_map(params![from, to, undelivered], sale_from_row)?.collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
    }

    /// Takes back all or part of a sale, or cancels one not handed over yet: stock back in,
    /// money or points back as the sale was paid, in one transaction.
    pub fn goods_return(&self, session: &Session, input: ReturnInput) -> Result<GoodsReturn> {
        session.require(Action::ReturnGoods)?;
        validate::int_in(Field::Quantity, input.quantity, 1, 1000)?;
        let reason = validate::required_text(Field::Reason, &input.reason, 100)?;
        self.write(session, |w| {
            let sale = load_sale(w, &input.sale_id)?;
            let left = sale.quantity - sale.returned;
            if left <= 0 {
                return Err(CoreError::Conflict(Conflict::SaleFullyReturned));
            }
            if input.quantity > left {
                return Err(CoreError::invalid(Field::Quantity, Rule::AtMost { max: left }));
            }
            let (before, after) = (sale.returned, sale.returned + input.quantity);
            let amount = Money::from_fen(share(sale.amount.fen(), before, after, sale.quantity));
            let points_back = share(sale.points, before, after, sale.quantity);
            let kind = if sale.delivered_at.is_some() { "return" } else { "cancel" };
            let id = crate::new_id();
            let return_no = format!("T{:06}", w.next_counter("goods_return_no")?);
            let staff = w.staff_id().unwrap_or_default().to_string();
            w.execute(
                "INSERT INTO goods_returns (id, return_no, sale_id, goods_id, kind, quantity, method, amount, points, reason, staff_id, at, business_date)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                params![id, return_no, sale.id, sale.goods_id, kind, input.quantity, sale.method, amount, points_back, reason, staff, w.now_text(), w.today().to_string()],
            )?;
            let back: GoodsReturn = w.query_row(&format!("{RETURN_SELECT} WHERE r.id = ?1"), [&id], return_from_row)?;
            w.log("goods_return", &id, kind, sale.member_id.as_deref(), &back)?;
            w.execute("UPDATE goods_sales SET returned = ?2 WHERE id = ?1", params![sale.id, after])?;
            let updated = load_sale(w, &sale.id)?;
            w.log("goods_sale", &sale.id, "return", sale.member_id.as_deref(), &updated)?;
            move_stock(w, &sale.goods_id, "return", input.quantity, &reason, Some(&sale.id))?;
            if let Some(member_id) = &sale.member_id {
                if sale.method == "points" {
                    points::add(w, member_id, points_back, "reversal", &reason, Some(&sale.id))?;
                } else {
                    // Points the sale earned, kept only for what the member keeps.
                    let (earned, standing): (i64, i64) = w.query_row(
                        "SELECT COALESCE(SUM(CASE WHEN kind = 'payment' THEN delta END), 0) AS earned, COALESCE(SUM(delta), 0) AS standing
                         FROM points_ledger WHERE ref_id = ?1 AND kind IN ('payment', 'reversal')",
                        [&sale.id],
                        |r| Ok((r.get("earned")?, r.get("standing")?)),
                    )?;
                    let keep = earned * (sale.quantity - after) / sale.quantity;
                    if standing > keep {
                        points::add(w, member_id, keep - standing, "reversal", &reason, Some(&sale.id))?;
                    }
                }
            }
            Ok(back)
        })
    }

    /// Returns and cancellations of a period (business dates), newest first.
    pub fn goods_returns(&self, session: &Session, from_date: &str, to_date: &str) -> Result<Vec<GoodsReturn>> {
        session.require(Action::ViewMembers)?;
        let from = validate::date(Field::FromDate, from_date)?.to_string();
        let to = validate::date(Field::ToDate, to_date)?.to_string();
        self.read(|c| {
            let mut stmt = c.prepare(&format!("{RETURN_SELECT} WHERE r.business_date BETWEEN ?1 AND ?2 ORDER BY r.at DESC, r.return_no DESC LIMIT 1000"))?;
            let rows = stmt.query_map(params![from, to], return_from_row)?.collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
    }
}

/// Sells goods in the caller's transaction (the desk's sale and a phone's request run
/// this same code): the sale, its stock move, the points it costs or earns and the
/// family's notice. The caller has checked `Action::SellGoods`.
pub(crate) fn goods_sell_in(w: &mut WriteTx, input: &SaleInput) -> Result<Sold> {
    validate::int_in(Field::Quantity, input.quantity, 1, 1000)?;
    let by_points = input.method == "points";
    let method = if by_points { "points" } else { payments::check_method(&input.method)? };
    let note = validate::optional_text(Field::Notes, &input.note, 100)?;
    let g = load(w, &input.goods_id)?;
    if g.archived {
        return Err(CoreError::Conflict(Conflict::GoodsArchived));
    }
    let member = match &input.member_id {
        Some(id) => Some(members::load_member(w, id)?),
        None => None,
    };
    if member.as_ref().is_some_and(|m| m.merged_into.is_some()) {
        return Err(CoreError::Conflict(Conflict::MemberAlreadyMerged));
    }
    let (amount, points_cost) = if by_points {
        let per = g.points_price.ok_or(CoreError::Conflict(Conflict::NoPointsPrice))?;
        if member.is_none() {
            return Err(CoreError::invalid(Field::Member, Rule::Required));
        }
        (Money::ZERO, per * input.quantity)
    } else {
        (Money::from_fen(g.price.fen() * input.quantity), 0)
    };
    let id = crate::new_id();
    let sale_no = format!("S{:06}", w.next_counter("goods_sale_no")?);
    let staff = w.staff_id().unwrap_or_default().to_string();
    let now = w.now_text();
    let delivered = input.delivered.then(|| staff.clone());
    w.execute(
        "INSERT INTO goods_sales (id, sale_no, goods_id, goods_name, member_id, quantity, method, amount, points, staff_id, sold_at, business_date,
                                  delivered_by, delivered_at, note)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        params![
            id,
            sale_no,
            g.id,
            g.name,
            input.member_id,
            input.quantity,
            method,
            amount,
            points_cost,
            staff,
            now,
            w.today().to_string(),
            delivered,
            input.delivered.then(|| now.clone()),
            note
        ],
    )?;
    let sale = load_sale(w, &id)?;
    w.log("goods_sale", &id, "sell", input.member_id.as_deref(), &sale)?;
    move_stock(w, &g.id, "sale", -input.quantity, "", Some(&id))?;
    let mut queued = 0;
    if let Some(m) = &member {
        if by_points {
            points::add(w, &m.id, -points_cost, "redeem", &g.name, Some(&id))?;
        } else {
            points::earn_for_payment(w, &m.id, amount, &id)?;
        }
        let centre = crate::settings::get(w, "centre_name")?.unwrap_or_default();
        let lang = crate::notify::templates::notice_lang(w)?;
        let paid = match (by_points, lang) {
            (true, crate::Lang::ZhCn) => format!("{points_cost} 积分"),
            (true, crate::Lang::En) => format!("{points_cost} points"),
            (false, _) => format!("¥{amount} {}", payments::method_label(method, lang)),
        };
        let text = crate::notify::templates::render(
            w,
            "goods_sale",
            &[("centre", centre), ("member", m.name.clone()), ("goods", g.name.clone()), ("quantity", input.quantity.to_string()), ("paid", paid)],
        )?;
        let recipients = crate::notify::guardians_of(w, &m.id)?;
        queued = crate::notify::queue(w, &crate::notify::NewNotice { kind: "goods_sale", member_id: Some(&m.id), lead_id: None, session_id: None, text, dedupe_key: None }, &recipients)?;
    }
    Ok(Sold { id, sale_no, notices_queued: queued })
}

/// What `goods_sell_in` made: the sale, its number and the notices queued for it.
pub(crate) struct Sold {
    pub id: String,
    pub sale_no: String,
    pub notices_queued: i64,
}

pub(crate) fn goods_deliver_in(w: &mut WriteTx, session: &Session, sale_id: &str) -> Result<GoodsSale> {
    session.require(Action::SellGoods)?;
    let sale = load_sale(w, sale_id)?;
    if sale.delivered_at.is_some() {
        return Err(CoreError::Conflict(Conflict::SaleAlreadyDelivered));
    }
    if sale.returned >= sale.quantity {
        return Err(CoreError::Conflict(Conflict::SaleFullyReturned));
    }
    let staff = w.staff_id().unwrap_or_default().to_string();
    w.execute("UPDATE goods_sales SET delivered_by = ?2, delivered_at = ?3 WHERE id = ?1", params![sale_id, staff, w.now_text()])?;
    let sale = load_sale(w, sale_id)?;
    w.log("goods_sale", sale_id, "deliver", sale.member_id.as_deref(), &sale)?;
    Ok(sale)
}

/// Goods in/out 物品进出 over a period, per item: stock at the start, purchases in, returns
/// in (against sales or by hand), sales out, counted adjustments (signed), stock at the end
/// (start + the period's moves, so it equals the ledger), with the money and points of the
/// period's sales and what returns paid back. Served as the analysis `goods`.
pub(crate) fn stats(c: &Connection, lang: crate::Lang, tz: chrono_tz::Tz, from: chrono::NaiveDate, to: chrono::NaiveDate) -> Result<Vec<crate::analysis::ReportTable>> {
    use crate::analysis::{column, ReportTable};
    let instant = |d: chrono::NaiveDate| crate::db::instant_text(crate::db::day_start(tz, d));
    let (start, end) = (instant(from), instant(to.succ_opt().unwrap_or(to)));
    let (from, to) = (from.to_string(), to.to_string());
    let mut stmt = c.prepare(
        "SELECT g.name, g.category,
                COALESCE((SELECT SUM(m.quantity) FROM stock_moves m WHERE m.goods_id = g.id AND m.at < ?1), 0) AS opening,
                COALESCE(SUM(CASE WHEN m.kind = 'purchase' THEN m.quantity END), 0) AS purchased,
                COALESCE(SUM(CASE WHEN m.kind = 'return' THEN m.quantity END), 0) AS returned,
                COALESCE(-SUM(CASE WHEN m.kind = 'sale' THEN m.quantity END), 0) AS sold,
                COALESCE(SUM(CASE WHEN m.kind = 'adjust' THEN m.quantity END), 0) AS adjusted,
                COALESCE(SUM(m.quantity), 0) AS moved,
                COALESCE((SELECT SUM(s.amount) FROM goods_sales s WHERE s.goods_id = g.id AND s.business_date BETWEEN ?3 AND ?4), 0) AS sales_amount,
                COALESCE((SELECT SUM(s.points) FROM goods_sales s WHERE s.goods_id = g.id AND s.business_date BETWEEN ?3 AND ?4), 0) AS sales_points,
                COALESCE((SELECT SUM(r.amount) FROM goods_returns r WHERE r.goods_id = g.id AND r.business_date BETWEEN ?3 AND ?4), 0) AS returns_amount
         FROM goods g LEFT JOIN stock_moves m ON m.goods_id = g.id AND m.at >= ?1 AND m.at < ?2
         GROUP BY g.id ORDER BY g.archived, g.category, g.name",
    )?;
    let rows: Vec<Vec<String>> = stmt
        .query_map(params![start, end, from, to], |r| {
            let opening: i64 = r.get("opening")?;
            let moved: i64 = r.get("moved")?;
            Ok(vec![
                r.get::<_, String>("name")?,
                r.get::<_, String>("category")?,
                opening.to_string(),
                r.get::<_, i64>("purchased")?.to_string(),
                r.get::<_, i64>("returned")?.to_string(),
                r.get::<_, i64>("sold")?.to_string(),
                r.get::<_, i64>("adjusted")?.to_string(),
                (opening + moved).to_string(),
                Money::from_fen(r.get("sales_amount")?).to_string(),
                r.get::<_, i64>("sales_points")?.to_string(),
                Money::from_fen(r.get("returns_amount")?).to_string(),
            ])
        })?
        .collect::<rusqlite::Result<_>>()?;
    let col = |key: &str, zh: &str, en: &str, kind: &str| column(key, lang, zh, en, kind);
    Ok(vec![ReportTable {
        key: "goods_in_out".into(),
        title: lang.pick("物品进出", "Goods in and out"),
        columns: vec![
            col("goods", "物品", "Item", "text"),
            col("category", "类别", "Category", "text"),
            col("opening", "期初库存", "Opening stock", "int"),
            col("purchased", "进货", "Purchased", "int"),
            col("returned", "退货入库", "Returned", "int"),
            col("sold", "销售出库", "Sold", "int"),
            col("adjusted", "盘点调整", "Adjusted", "int"),
            col("closing", "期末库存", "Closing stock", "int"),
            col("sales_amount", "销售额", "Sales", "money"),
            col("sales_points", "积分兑换", "Points", "int"),
            col("refunded", "退货退款", "Refunded", "money"),
        ],
        total_rows: rows.len() as i64,
        rows,
        chart: Some("sold".into()),
        member_ids: vec![],
    }])
}

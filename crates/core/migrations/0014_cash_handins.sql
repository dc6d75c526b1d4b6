-- Goods returns 退货 against a sale, and cash hand-ins 交款 for the per-staff cash
-- reconciliation 对账 (goods.rs, cash.rs).
--
-- A return (or the cancellation of a sale not yet handed over) puts stock back through a
-- `return` stock move and pays back as the sale was paid: money in `goods_returns.amount`
-- by the sale's method, points as a points_ledger entry. `goods_sales.returned` counts what
-- came back so far; it can never exceed what was sold.
ALTER TABLE goods_sales ADD COLUMN returned INTEGER NOT NULL DEFAULT 0 CHECK (returned BETWEEN 0 AND quantity);

-- Append-only, like the payments ledger: a return is never edited or removed.
CREATE TABLE goods_returns (
    id            TEXT PRIMARY KEY,
    return_no     TEXT NOT NULL UNIQUE,
    sale_id       TEXT NOT NULL REFERENCES goods_sales(id),
    goods_id      TEXT NOT NULL REFERENCES goods(id),
    kind          TEXT NOT NULL CHECK (kind IN ('return','cancel')),  -- cancel: the sale was not handed over yet
    quantity      INTEGER NOT NULL CHECK (quantity > 0),
    method        TEXT NOT NULL CHECK (method IN ('cash','wechat','alipay','card','transfer','points')),
    amount        INTEGER NOT NULL CHECK (amount >= 0),                -- fen paid back (0 for points sales)
    points        INTEGER NOT NULL DEFAULT 0 CHECK (points >= 0),      -- points given back (points sales)
    reason        TEXT NOT NULL,
    staff_id      TEXT NOT NULL REFERENCES staff(id),                  -- who paid it back
    at            TEXT NOT NULL,
    business_date TEXT NOT NULL
) STRICT;
CREATE INDEX goods_returns_sale ON goods_returns(sale_id);
CREATE INDEX goods_returns_date ON goods_returns(business_date);
CREATE TRIGGER goods_returns_no_update BEFORE UPDATE ON goods_returns
BEGIN SELECT RAISE(ABORT, 'goods_returns is append-only'); END;
CREATE TRIGGER goods_returns_no_delete BEFORE DELETE ON goods_returns
BEGIN SELECT RAISE(ABORT, 'goods_returns is append-only'); END;

-- Cash a staff member handed in for a business date, as counted by whoever received it
-- (the manager records it). A mistaken entry is voided with a reason, never edited or
-- deleted: only the void columns may change.
CREATE TABLE cash_handins (
    id            TEXT PRIMARY KEY,
    staff_id      TEXT NOT NULL REFERENCES staff(id),                  -- whose cash
    business_date TEXT NOT NULL,
    amount        INTEGER NOT NULL CHECK (amount >= 0),                -- fen counted
    received_by   TEXT NOT NULL REFERENCES staff(id),
    note          TEXT NOT NULL DEFAULT '',
    recorded_by   TEXT NOT NULL REFERENCES staff(id),
    recorded_at   TEXT NOT NULL,
    voided_at     TEXT,
    voided_by     TEXT REFERENCES staff(id),
    void_reason   TEXT NOT NULL DEFAULT '',
    CHECK ((voided_at IS NULL) = (voided_by IS NULL))
) STRICT;
CREATE INDEX cash_handins_date ON cash_handins(business_date, staff_id);
CREATE TRIGGER cash_handins_no_delete BEFORE DELETE ON cash_handins
BEGIN SELECT RAISE(ABORT, 'cash_handins are voided, never deleted'); END;
CREATE TRIGGER cash_handins_fixed BEFORE UPDATE OF id, staff_id, business_date, amount, received_by, note, recorded_by, recorded_at ON cash_handins
BEGIN SELECT RAISE(ABORT, 'a cash hand-in is voided, never edited'); END;
CREATE TRIGGER cash_handins_void_once BEFORE UPDATE OF voided_at ON cash_handins WHEN OLD.voided_at IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'a cash hand-in is voided once'); END;

-- The reconciliation reads cash by business date.
CREATE INDEX goods_sales_cash ON goods_sales(business_date, staff_id) WHERE method = 'cash';

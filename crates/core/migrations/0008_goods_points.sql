-- Goods 物品 with a stock ledger, sales at the desk, and the members' points 积分 ledger.
-- `goods.stock` is the sum of the item's stock_moves, kept in the same transaction as
-- each move; the CHECK makes "below zero" impossible rather than merely unlikely.
CREATE TABLE goods (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    category     TEXT NOT NULL DEFAULT '',
    price        INTEGER NOT NULL CHECK (price >= 0),              -- fen
    points_price INTEGER CHECK (points_price IS NULL OR points_price > 0),
    stock        INTEGER NOT NULL DEFAULT 0 CHECK (stock >= 0),
    archived     INTEGER NOT NULL DEFAULT 0 CHECK (archived IN (0,1)),
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
) STRICT;

CREATE TABLE goods_sales (
    id            TEXT PRIMARY KEY,
    sale_no       TEXT NOT NULL UNIQUE,
    goods_id      TEXT NOT NULL REFERENCES goods(id),
    goods_name    TEXT NOT NULL,                                   -- as sold
    member_id     TEXT REFERENCES members(id),
    quantity      INTEGER NOT NULL CHECK (quantity > 0),
    method        TEXT NOT NULL CHECK (method IN ('cash','wechat','alipay','card','transfer','points')),
    amount        INTEGER NOT NULL CHECK (amount >= 0),             -- fen; 0 when paid in points
    points        INTEGER NOT NULL DEFAULT 0 CHECK (points >= 0),
    staff_id      TEXT NOT NULL REFERENCES staff(id),
    sold_at       TEXT NOT NULL,
    business_date TEXT NOT NULL,
    delivered_by  TEXT REFERENCES staff(id),
    delivered_at  TEXT,
    note          TEXT NOT NULL DEFAULT '',
    CHECK (method <> 'points' OR (points > 0 AND amount = 0 AND member_id IS NOT NULL))
) STRICT;
CREATE INDEX goods_sales_date ON goods_sales(business_date);
CREATE INDEX goods_sales_undelivered ON goods_sales(sold_at) WHERE delivered_at IS NULL;

CREATE TABLE stock_moves (
    id         TEXT PRIMARY KEY,
    goods_id   TEXT NOT NULL REFERENCES goods(id),
    kind       TEXT NOT NULL CHECK (kind IN ('purchase','sale','adjust','return')),
    quantity   INTEGER NOT NULL CHECK (quantity <> 0),              -- signed: + in, - out
    reason     TEXT NOT NULL DEFAULT '',
    sale_id    TEXT REFERENCES goods_sales(id),
    staff_id   TEXT NOT NULL REFERENCES staff(id),
    at         TEXT NOT NULL
) STRICT;
CREATE INDEX stock_moves_goods ON stock_moves(goods_id, at);

-- Append-only: a correction is another entry. The balance is SUM(delta).
CREATE TABLE points_ledger (
    id            TEXT PRIMARY KEY,
    member_id     TEXT NOT NULL REFERENCES members(id),
    delta         INTEGER NOT NULL CHECK (delta <> 0),
    kind          TEXT NOT NULL CHECK (kind IN ('payment','attendance','referral','manual','redeem','goods','reversal')),
    reason        TEXT NOT NULL DEFAULT '',
    ref_id        TEXT,
    staff_id      TEXT REFERENCES staff(id),
    at            TEXT NOT NULL,
    business_date TEXT NOT NULL
) STRICT;
CREATE INDEX points_ledger_member ON points_ledger(member_id, at);
CREATE INDEX points_ledger_ref ON points_ledger(ref_id) WHERE ref_id IS NOT NULL;
CREATE TRIGGER points_ledger_no_update BEFORE UPDATE ON points_ledger
BEGIN SELECT RAISE(ABORT, 'points_ledger is append-only'); END;
CREATE TRIGGER points_ledger_no_delete BEFORE DELETE ON points_ledger
BEGIN SELECT RAISE(ABORT, 'points_ledger is append-only'); END;

-- Phones paired with the desk for roll call on the mat (devices.rs, crates/lan). The
-- device's 256-bit token is kept only as its SHA-256; a revoked device is refused at its
-- next request.
CREATE TABLE phone_devices (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    token_sha256  TEXT NOT NULL UNIQUE,
    paired_at     TEXT NOT NULL,
    paired_by     TEXT REFERENCES staff(id),      -- who opened the pairing code
    last_seen_at  TEXT,                           -- last sign-in or applied request
    last_staff_id TEXT REFERENCES staff(id),      -- who signed in on it last
    revoked_at    TEXT,
    revoked_by    TEXT REFERENCES staff(id)
) STRICT;

-- Requests 请求 from away from the desk — a paired phone now, parents through the portal
-- next (requests.rs): each kept once per request id with the answer it got, so the same
-- request again changes nothing and gets the same answer; the same id with another body
-- is refused.
CREATE TABLE requests (
    request_id  TEXT PRIMARY KEY,
    source      TEXT NOT NULL,                    -- 'phone' or 'portal'
    device_id   TEXT REFERENCES phone_devices(id),
    kind        TEXT NOT NULL,
    body_sha256 TEXT NOT NULL,
    staff_id    TEXT REFERENCES staff(id),
    outcome     TEXT NOT NULL,                    -- protocol::requests::Outcome, JSON
    applied_at  TEXT NOT NULL
) STRICT;

-- A deliberate resend from the desk is a new message: it goes out under a new
-- idempotency key (`<id>-r<resends>`), while automatic retries keep the key of their
-- series, so a gateway drops a retry it already took but not a resend.
ALTER TABLE notices ADD COLUMN resends INTEGER NOT NULL DEFAULT 0;

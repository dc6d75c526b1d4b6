-- Notices that reach parents: each queued notice becomes a delivery with a channel,
-- attempts, the last error and when to try again; automatic notices (renewal due,
-- birthdays) carry a key so the scan queues each once. Guardians may give an e-mail.
-- Templates the manager rewrote replace the built-in ones per kind and language.

ALTER TABLE notices ADD COLUMN channel TEXT NOT NULL DEFAULT '';
ALTER TABLE notices ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE notices ADD COLUMN last_error TEXT NOT NULL DEFAULT '';
ALTER TABLE notices ADD COLUMN next_attempt_at TEXT;
ALTER TABLE notices ADD COLUMN sent_at TEXT;
ALTER TABLE notices ADD COLUMN dedupe_key TEXT;
CREATE UNIQUE INDEX notices_dedupe_key ON notices(dedupe_key, guardian_id) WHERE dedupe_key IS NOT NULL;
CREATE INDEX notices_due ON notices(status, next_attempt_at) WHERE status = 'queued';

ALTER TABLE guardians ADD COLUMN email TEXT NOT NULL DEFAULT '';

CREATE TABLE notice_templates (
    kind       TEXT NOT NULL,
    lang       TEXT NOT NULL CHECK (lang IN ('zh-CN','en')),
    body       TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (kind, lang)
) STRICT;

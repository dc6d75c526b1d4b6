-- The log epochs of head-office sync (sync.rs; the rule is centredesk-protocol's
-- sync module doc). Each row names one line of this desk's change-log history: the first
-- push starts one, and so does every restored backup or a log found rewound (a power cut
-- that lost the newest commits). The current epoch is the one started last. Each start
-- is also an op in the change log (entity `sync_epoch`), so head office sees restores.
-- Restored with the database like everything else: a restore then starts a new one.
CREATE TABLE sync_epochs (
    epoch      TEXT PRIMARY KEY,
    started_at TEXT NOT NULL,
    reason     TEXT NOT NULL CHECK (reason IN ('first','restore','rewound')),
    first_seq  INTEGER NOT NULL
) STRICT;

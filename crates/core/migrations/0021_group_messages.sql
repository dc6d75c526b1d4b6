-- Messages to a group 群发消息 (notify/group_messages.rs): one message the desk writes to a
-- class group, a tier, a tag, a status or a report's list, queued in the outbox once per
-- guardian. A guardian may ask not to get such messages (`no_group_messages`): they are
-- left out and counted; notices about their own child (arrival, leave, a cancelled
-- class) still reach them.
ALTER TABLE guardians ADD COLUMN no_group_messages INTEGER NOT NULL DEFAULT 0 CHECK (no_group_messages IN (0,1));

CREATE TABLE group_messages (
    id          TEXT PRIMARY KEY,
    audience    TEXT NOT NULL CHECK (json_valid(audience)),   -- as chosen: {kind, …}
    audience_label TEXT NOT NULL,                             -- in words, as the desk saw it
    body        TEXT NOT NULL,                                -- as written ({member} filled per family)
    families    INTEGER NOT NULL CHECK (families > 0),        -- children whose guardians were sent it
    notices     INTEGER NOT NULL CHECK (notices > 0),         -- one per guardian
    opted_out   INTEGER NOT NULL CHECK (opted_out >= 0),      -- guardians left out at their request
    unreachable INTEGER NOT NULL CHECK (unreachable >= 0),    -- children with no guardian on record
    staff_id    TEXT NOT NULL REFERENCES staff(id),
    created_at  TEXT NOT NULL
) STRICT;
CREATE INDEX group_messages_created ON group_messages(created_at);

-- Schema version 1 of the client store. Never edit a released step:
-- add a new one to MIGRATIONS in migrations.rs instead.

-- One row: where the next /sync starts, the filter it uses, and whose
-- account this store holds.
CREATE TABLE sync_position (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    user_id TEXT,
    since TEXT,
    filter_id TEXT,
    -- The filter definition the ID was made for (JSON): a changed setting
    -- means a new filter.
    filter_definition TEXT
);
INSERT INTO sync_position (id) VALUES (1);

CREATE TABLE rooms (
    room_id TEXT PRIMARY KEY NOT NULL,
    membership TEXT NOT NULL CHECK (membership IN ('join', 'invite', 'leave', 'knock')),
    -- m.heroes as a JSON array of user IDs; NULL until the server sends one.
    heroes TEXT,
    joined_member_count INTEGER,
    invited_member_count INTEGER,
    notification_count INTEGER NOT NULL DEFAULT 0,
    highlight_count INTEGER NOT NULL DEFAULT 0
);

-- The current state: one event per (type, state_key).
CREATE TABLE room_state (
    room_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    state_key TEXT NOT NULL,
    event_id TEXT,
    event TEXT NOT NULL,
    PRIMARY KEY (room_id, event_type, state_key)
) WITHOUT ROWID;

-- Each room's events in order of position (ascending). New events get
-- positions after the highest one; back-pagination will use positions
-- below the lowest. An event is stored once, whatever batch brings it again.
CREATE TABLE timeline (
    room_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    event_id TEXT UNIQUE,
    -- 1 when the event did not fit its type and is kept as it came.
    malformed INTEGER NOT NULL DEFAULT 0,
    event TEXT NOT NULL,
    PRIMARY KEY (room_id, position)
);

-- Where a limited timeline left events out: before the event at
-- `position`, back to `prev_batch` (a /messages?dir=b token).
CREATE TABLE timeline_gaps (
    room_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    prev_batch TEXT NOT NULL,
    PRIMARY KEY (room_id, position)
);

CREATE TABLE account_data (
    event_type TEXT PRIMARY KEY NOT NULL,
    event TEXT NOT NULL
);

CREATE TABLE room_account_data (
    room_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    event TEXT NOT NULL,
    PRIMARY KEY (room_id, event_type)
);

-- Items of a batch that did not fit their type, kept as they came.
CREATE TABLE malformed_items (
    id INTEGER PRIMARY KEY,
    room_id TEXT,
    kind TEXT NOT NULL,
    reason TEXT NOT NULL,
    json TEXT NOT NULL
);

-- Schema version 5: room updates in the order batches made them, and
-- each durable room watcher's cursor. Never edit a released step: add a
-- new one instead.

-- One row per room a committed batch told about. `before` and `after`
-- are our membership before and after the batch when it changed it
-- (`before` NULL for a room new to the store); both NULL when only the
-- room's state, timeline or counts changed.
CREATE TABLE room_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    room_id TEXT NOT NULL,
    before TEXT,
    after TEXT
);

-- Per durable room watcher (by name), the last room update handled.
CREATE TABLE room_watch_cursors (
    watcher TEXT PRIMARY KEY NOT NULL,
    seq INTEGER NOT NULL
) WITHOUT ROWID;

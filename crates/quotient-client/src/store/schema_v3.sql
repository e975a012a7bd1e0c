-- Schema version 3: the order timeline events came by /sync, and each
-- watcher's delivery cursor per room. Never edit a released step: add a
-- new one instead.

-- One row per timeline event first stored by a /sync batch (not by
-- back-pagination: history is not news), in the order they were stored.
-- Events stored before version 3 have no row: they are not delivered.
CREATE TABLE live_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    room_id TEXT NOT NULL,
    -- The timeline row (its rowid does not change when positions move).
    timeline_rowid INTEGER NOT NULL
);

-- Per watcher (by name) and room, the last live event handed over and
-- handled. Room '*' is where a watcher started: rooms without their own
-- row deliver the events after it.
CREATE TABLE watch_cursors (
    watcher TEXT NOT NULL,
    room_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (watcher, room_id)
) WITHOUT ROWID;

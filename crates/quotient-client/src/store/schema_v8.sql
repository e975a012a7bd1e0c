-- Schema version 8: sliding sync (MSC4186) beside /sync v3. Never edit a
-- released step: add a new one instead.

-- The sliding-sync connection's place, apart from v3's `since`: the
-- server's `pos` of the last committed response (NULL: start a new
-- connection), the to-device extension's own `since`, and how many rooms
-- of the room list the window covered. Written in the transaction that
-- folds the response, as `since` is for v3.
CREATE TABLE sliding_position (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    pos             TEXT,
    to_device_since TEXT,
    window          INTEGER NOT NULL DEFAULT 0
);
INSERT INTO sliding_position (id) VALUES (1);

-- The server's activity order for a room (sliding sync's `bump_stamp`),
-- the room list's sort key; NULL where the server never said.
ALTER TABLE rooms ADD COLUMN bump_stamp INTEGER;

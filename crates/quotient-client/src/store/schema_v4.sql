-- Schema version 4: the outbox. Never edit a released step: add a new one
-- instead.

-- One row per event the user asked to send, in the order asked (id).
-- Written before anything goes on the wire; the transaction ID is fixed
-- then and never changes, so a resend after a crash is deduplicated by
-- the server (transaction IDs are scoped to the device, kept here).
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    room_id TEXT NOT NULL,
    txn_id TEXT NOT NULL UNIQUE,
    -- The device the entry was queued under: its transaction ID means
    -- something to the server only for that device.
    device_id TEXT NOT NULL,
    -- 'message' (PUT send), 'state' (PUT state) or 'redaction' (PUT redact).
    kind TEXT NOT NULL CHECK (kind IN ('message', 'state', 'redaction')),
    event_type TEXT NOT NULL,
    -- The state key of a state event; the event redacted by a redaction.
    state_key TEXT,
    redacts TEXT,
    -- The event content (JSON object).
    content TEXT NOT NULL,
    -- A file to upload first (JSON: path, content type, size, and once
    -- uploaded its mxc URI); NULL for an event without one.
    attachment TEXT,
    -- queued: not on the wire yet; sending: may have reached the server
    -- (a resend uses the same txn_id); sent: event_id known; failed: the
    -- server refused it for good (error says why), until retried.
    state TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'sent', 'failed')),
    event_id TEXT,
    error TEXT,
    queued_ts INTEGER NOT NULL,
    sent_ts INTEGER
);
CREATE INDEX outbox_room ON outbox (room_id, state, id);
CREATE INDEX outbox_event ON outbox (event_id);

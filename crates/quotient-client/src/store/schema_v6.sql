-- Schema version 6: end-to-end encryption. Never edit a released step:
-- add a new one instead.

-- One row per m.room.encrypted timeline event. The timeline row's `event`
-- is what is shown: the decrypted event when it decrypted and its sender
-- passed the trust setting, else the event as it came. `original` keeps
-- the event as it came either way.
CREATE TABLE encrypted_events (
    timeline_rowid INTEGER PRIMARY KEY NOT NULL,
    room_id TEXT NOT NULL,
    -- The Megolm session it is encrypted with: an undecryptable event is
    -- tried again when this session's key arrives.
    session_id TEXT,
    original TEXT NOT NULL,
    -- The decrypted event (type and content from the ciphertext, the rest
    -- from the original); NULL while undecryptable.
    clear TEXT,
    -- Why the event is not shown decrypted: undecryptable (the crypto
    -- machine's reason) or withheld by the trust setting. NULL when shown.
    error TEXT,
    -- The sending device's trust when it decrypted: verified,
    -- cross-signed, not-cross-signed, unknown-device, sender-mismatch.
    sender_trust TEXT
);
CREATE INDEX encrypted_events_waiting ON encrypted_events (session_id)
    WHERE clear IS NULL;

-- 'new': the event was stored; 'decrypted': an event stored earlier has
-- just been decrypted (its key came later), and watchers hear of it again.
ALTER TABLE live_events ADD COLUMN change TEXT NOT NULL DEFAULT 'new';

-- The entry's content as encrypted for the room, stored before the first
-- attempt: every resend carries the same ciphertext under the same
-- transaction ID. NULL for entries not sent encrypted.
ALTER TABLE outbox ADD COLUMN encrypted TEXT;

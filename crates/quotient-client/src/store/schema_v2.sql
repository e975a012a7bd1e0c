-- Schema version 2: relations, receipts, and redactions waiting for
-- their target. Never edit a released step: add a new one instead.

-- One row per stored timeline event that relates to another
-- (`content.m.relates_to`): edits, reactions, threads, references.
CREATE TABLE relations (
    event_id TEXT PRIMARY KEY NOT NULL,
    room_id TEXT NOT NULL,
    rel_type TEXT NOT NULL,
    target_id TEXT NOT NULL,
    sender TEXT NOT NULL,
    -- The annotation (an emoji, …) when rel_type is m.annotation.
    annotation_key TEXT
) WITHOUT ROWID;
CREATE INDEX relations_by_target ON relations (target_id, rel_type);

-- The latest receipt per room, user, receipt type and thread ('' when the
-- receipt is unthreaded).
CREATE TABLE receipts (
    room_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    receipt_type TEXT NOT NULL,
    thread_id TEXT NOT NULL DEFAULT '',
    event_id TEXT NOT NULL,
    ts INTEGER,
    PRIMARY KEY (room_id, user_id, receipt_type, thread_id)
) WITHOUT ROWID;

-- A redaction whose target is not stored (yet): applied when the target
-- arrives, by a later batch or by back-pagination.
CREATE TABLE pending_redactions (
    target_id TEXT NOT NULL,
    room_id TEXT NOT NULL,
    redaction_id TEXT NOT NULL,
    redaction TEXT NOT NULL,
    PRIMARY KEY (target_id, redaction_id)
) WITHOUT ROWID;

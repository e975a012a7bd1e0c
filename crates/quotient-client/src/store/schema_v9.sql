-- Schema version 9: where a room's unread counts come from. Never edit a
-- released step: add a new one instead.

-- 'server' (/sync v3's unread_notifications), 'counted' (counted from the
-- store after the read marker, as sliding sync needs: Synapse sends 0
-- there) or 'at-least' (counted, with a gap after the marker).
ALTER TABLE rooms ADD COLUMN unread_source TEXT NOT NULL DEFAULT 'server';

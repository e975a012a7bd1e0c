-- Schema version 7: encrypted attachments. Never edit a released step:
-- add a new one instead.

-- For an entry whose file goes to an encrypted room: the key, IV and
-- ciphertext hash its file was encrypted with (the spec's EncryptedFile
-- without `url`, as JSON), stored before the upload starts. Every try
-- uploads the same ciphertext to the same reserved URI, and the event
-- names this key. NULL for entries without an encrypted file. Key
-- material: the store is owner-only, and nothing logs this column.
ALTER TABLE outbox ADD COLUMN file_key TEXT;

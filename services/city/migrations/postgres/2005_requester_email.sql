-- A requester's e-mail address, when they gave one (an online channel's
-- requester may give it instead of a phone); empty otherwise. PII: the
-- city's store alone holds it.
ALTER TABLE requesters ADD COLUMN email TEXT NOT NULL DEFAULT '';

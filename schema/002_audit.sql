-- SPDX-License-Identifier: ISC
-- 002_audit: the hash-chained audit log of every release and refusal.
--
-- entry is sealed (who, what, outcome); mac chains each row to the one
-- before it under the audit subkey, so an edited, reordered or deleted
-- row breaks the chain. vault_meta 'audit_head' holds a keyed MAC over
-- the row count and last mac, so cutting rows off the end shows too.
CREATE TABLE audit (
	id    INTEGER PRIMARY KEY,
	entry BLOB NOT NULL,
	mac   BLOB NOT NULL
) STRICT;

-- SPDX-License-Identifier: ISC
-- 003_actions: saved actions, the only way a use=actions password leaves.
--
-- body is sealed under the action subkey (not the record key: one key,
-- one purpose) with associated data naming the row and its name hash. It
-- holds the account it is bound to, the pinned program path and hash,
-- the argument template and the parameter patterns.
CREATE TABLE actions (
	id        INTEGER PRIMARY KEY AUTOINCREMENT,
	name_hash BLOB NOT NULL UNIQUE,
	body      BLOB NOT NULL
) STRICT;

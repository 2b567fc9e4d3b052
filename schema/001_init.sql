-- SPDX-License-Identifier: ISC
-- 001_init: the first vault schema.
--
-- Everything secret or descriptive is sealed by libvault before it gets
-- here; SQLite sees opaque blobs, keyed name hashes and row numbers.
-- A stolen file shows how many rows there are, nothing more.

CREATE TABLE vault_meta (
	key   TEXT PRIMARY KEY NOT NULL,  -- 'id': the public random vault id + its BLAKE2b-128
	value BLOB NOT NULL
) STRICT;

CREATE TABLE keyslots (
	id   INTEGER PRIMARY KEY AUTOINCREMENT,
	slot BLOB NOT NULL                -- parsed by keyslot.c; wraps the master key
) STRICT;

CREATE TABLE accounts (
	id        INTEGER PRIMARY KEY AUTOINCREMENT,
	name_hash BLOB NOT NULL UNIQUE,   -- keyed BLAKE2b of the normalised name
	meta      BLOB NOT NULL           -- sealed: name, user, domain, host, note, policy, dates
) STRICT;

CREATE TABLE secrets (
	account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	version    INTEGER NOT NULL,
	blob       BLOB NOT NULL,         -- sealed: the password and its date
	PRIMARY KEY (account_id, version)
) STRICT, WITHOUT ROWID;

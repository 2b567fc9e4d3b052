/* SPDX-License-Identifier: ISC */
/*
 * impexp_pass.h - the `pass` format of `vault import` and `vault export`:
 * a password store (https://www.passwordstore.org/), a directory of
 * gpg-encrypted files, one entry each.
 *
 * impexp_pass.c holds the text of one entry (no gpg, no files: the fuzz
 * target tests/fuzz/fuzz_import_pass.c calls it); impexp_pass_gpg.c walks
 * the store and runs the user's gpg, as pass does, for both directions.
 *
 * An entry's text, as pass and the tools around it (browserpass, passff)
 * write it: the first line is the password; a later line "key: value"
 * whose key (any case) is login, user or username gives the user, url the
 * host (the URL's host, as keepassxc's URL column), host the host as
 * written, domain the domain (the first line of each wins); every other
 * line is the note, its line breaks kept (the record maps them to U+2424).
 */
#ifndef VAULT_IMPEXP_PASS_H
#define VAULT_IMPEXP_PASS_H

#include <stddef.h>
#include <stdio.h>

#include "impexp.h"

/* One entry's decrypted text is at most this big. */
#define IMPEXP_PASS_ENTRY_MAX (1024U * 1024U)

/*
 * Parses the text of the entry at store path rel (relative, without
 * ".gpg") as record no of s: name rel, the fields above; with no user
 * line, the user is rel's last component (browserpass's rule for the
 * common site/login layout) and *user_from_path is set to 1. s->pool
 * must have len + 1 bytes free. Returns 0, VAULT_ERR_INVAL (err says
 * why, never quoting the text), VAULT_ERR_TOOBIG or VAULT_ERR_NOMEM.
 */
int impexp_pass_entry(struct impexp_set *s, size_t no, const char *rel, const unsigned char *text, size_t len,
    int *user_from_path, char *err, size_t errlen);

/*
 * The text of an entry for account a with password pw, which
 * impexp_pass_entry reads back as the same account: the password, a
 * login: line, a url: (or host:) and a domain: line when set, then the
 * note with U+2424 turned back into line breaks. Writes at most
 * impexp_pass_text_size(a, pw) bytes into out (the caller's secure
 * memory) and sets *outlen. Returns 0, or VAULT_ERR_INVAL when the
 * password holds a line break (it could not be the first line).
 */
size_t impexp_pass_text_size(const vault_account *a, const vault_secret *pw);
int impexp_pass_text(const vault_account *a, const vault_secret *pw, unsigned char *out, size_t *outlen);

/*
 * Import: reads the store at dir (every *.gpg under it, dot files and
 * directories skipped, symbolic links skipped with a note on notes),
 * decrypting each entry with gpg, into out (zeroed by the caller, freed
 * with impexp_set_free). All or nothing: a file gpg cannot decrypt is an
 * error naming it. Returns 0 or a VAULT_ERR_* with err set.
 */
int impexp_pass_read(const char *dir, struct impexp_set *out, FILE *notes, char *err, size_t errlen);

/*
 * Export, in two steps so that nothing is written when a step fails
 * that can fail early: impexp_pass_plan checks that dir is a store (a
 * .gpg-id, or $PASSWORD_STORE_KEY), that every name is a store path and,
 * without force, that no entry exists; impexp_pass_write then encrypts
 * each account's current password to the store's recipients, a new file
 * renamed (force) or linked into place. *done counts the entries written.
 */
int impexp_pass_plan(const char *dir, vault_account *const *list, size_t n, int force, char *err, size_t errlen);
int impexp_pass_write(vault *v, const char *dir, vault_account *const *list, size_t n, int force, size_t *done,
    char *err, size_t errlen);

#endif

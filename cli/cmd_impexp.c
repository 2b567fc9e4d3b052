/* SPDX-License-Identifier: ISC */
/*
 * cmd_impexp.c - `vault import FORMAT FILE` and `vault export FORMAT`.
 *
 * Both open the vault directly (as --no-agent does), whatever agent runs:
 * an export releases every password, so it must ask for the master
 * passphrase (or --keyfile) even when an agent is unlocked, and the
 * direct unlock is that proof; an import is one SQLite transaction of
 * many accounts, which a running agent sees when it commits (it notices
 * other processes' commits through PRAGMA data_version).
 *
 * MUST rules for this file:
 *  - an import is all or nothing: the whole file is parsed before the
 *    vault is opened, and every account goes in one transaction that any
 *    error rolls back;
 *  - passwords never reach argv, the environment, stderr or the audit
 *    log; every buffer that held one is wiped (impexp.c's allocators, the
 *    secure stdio buffer of the export);
 *  - an export writes a new 0600 file, appearing complete under its name
 *    (a temporary file linked or renamed into place), and is audited as
 *    one release of every password before anything is written.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "cmds.h"
#include "config.h"
#include "impexp.h"
#include "impexp_pass.h"

static int cmd_import(int argc, char **argv);
static int cmd_export(int argc, char **argv);

const struct cli_cmd cli_cmd_import = { "import", cmd_import, "import FORMAT FILE [--dry-run] [--replace] [--use POLICY]",
	"Add the accounts in FILE, written by vault export or another password manager.\n"
	"FORMAT: csv (name,user,domain,host,password,note), keepassxc (its CSV export),\n"
	"bitwarden (its unencrypted JSON export), json (vault export json),\n"
	"keepass-xml or kdbx-xml (KeePass 2 XML: keepassxc-cli export --format xml;\n"
	"the Recycle Bin and History are left out; no DOCTYPE or entities), pass (FILE:\n"
	"a password store directory, default $PASSWORD_STORE_DIR or ~/.password-store;\n"
	"each entry decrypted by your gpg, as pass does; name: the entry's path; first\n"
	"line: the password; login:/user:/username:, url: (its host), host: and domain:\n"
	"lines: those fields; other lines: the note; no login: line: the user is the\n"
	"entry's last path component; symbolic links and dot files are skipped).\n"
	"All or nothing: one transaction; a malformed file imports nothing and the error\n"
	"names the record. Names already in the vault, and repeats in the file, are\n"
	"reported and skipped; --replace gives existing accounts a new password version\n"
	"and the file's user, domain, host and note. Records the vault cannot hold (no\n"
	"user, no password, unsafe user or host) are reported and skipped. Names from\n"
	"the file: control characters become spaces, leading and trailing spaces go,\n"
	"a leading '-' becomes '_', cut to 128 characters. Line breaks in notes become\n"
	"U+2424. --dry-run says what would happen and writes nothing. --use sets the\n"
	"release policy of the new accounts (actions, confirm or any; default actions,\n"
	"as vault add).\n"
	"Opens the vault directly and asks for the master passphrase (or --keyfile),\n"
	"even when an agent runs; the agent sees the new accounts at once. Audited." };

const struct cli_cmd cli_cmd_export = { "export", cmd_export, "export FORMAT [--output FILE] [--force] | export pass DIR [--force]",
	"Write every account with its current password, in clear, to standard output or\n"
	"to FILE (a new file, mode 0600; --force replaces an existing one).\n"
	"FORMAT: csv, keepassxc, bitwarden, json or keepass-xml (which keepassxc-cli\n"
	"import reads), as vault import reads them.\n"
	"pass DIR: one entry per account in the password store DIR (made by pass init:\n"
	"its .gpg-id names the keys), encrypted by your gpg to those keys, as vault\n"
	"import pass reads them; --force replaces existing entries.\n"
	"Asks for the master passphrase (or --keyfile) even when an agent is unlocked:\n"
	"it opens the vault directly. Audited as one release of every password." };

/* Options of both commands (use: import's --use); 1 when done (help shown or a usage error in *ret). */
static int
parse(int argc, char **argv, const struct cli_cmd *cmd, struct cli_opts *o, int *dry, int *replace,
    const char **output, int *force, int *use, int *ret)
{
	static const struct option imp[] = { COMMON_OPTS, { "dry-run", no_argument, NULL, OPT_DRY_RUN },
		{ "replace", no_argument, NULL, OPT_REPLACE }, { "use", required_argument, NULL, OPT_USE },
		{ NULL, 0, NULL, 0 } };
	static const struct option exp[] = { COMMON_OPTS, { "output", required_argument, NULL, OPT_OUTPUT },
		{ "force", no_argument, NULL, OPT_FORCE }, { NULL, 0, NULL, 0 } };
	int c, want = cmd == &cli_cmd_import ? 2 : 1, fmt;

	while ((c = cli_getopt(argc, argv, "h", cmd == &cli_cmd_import ? imp : exp, cmd)) != -1) {
		if (c == 'h') {
			*ret = cli_show_help(cmd);
			return 1;
		}
		if (c == OPT_DRY_RUN)
			*dry = 1;
		else if (c == OPT_REPLACE)
			*replace = 1;
		else if (c == OPT_OUTPUT)
			*output = optarg;
		else if (c == OPT_FORCE)
			*force = 1;
		else if (c == OPT_USE && vault_use_parse(optarg, use) != 0) {
			*ret = cli_usage("%s: --use: actions, confirm or any, not '%s'", cmd->name, cli_esc(optarg));
			return 1;
		} else if (c == OPT_USE)
			continue;
		else if (!cli_common_opt(c, o)) {
			*ret = cli_bad_option(cmd);
			return 1;
		}
	}
	if (argc - optind < 1) {
		*ret = cli_bad_option(cmd);
		return 1;
	}
	if ((fmt = impexp_format(argv[optind])) < 0) {
		*ret = cli_usage("%s: unknown format '%s'; one of csv, keepassxc, bitwarden, json, keepass-xml, pass", cmd->name,
		    cli_esc(argv[optind]));
		return 1;
	}
	/* pass: a directory, not a file; import's defaults to the store pass would use. */
	if (fmt == IMPEXP_PASS)
		want = 2;
	if (argc - optind != want && !(fmt == IMPEXP_PASS && cmd == &cli_cmd_import && argc - optind == 1)) {
		*ret = cli_bad_option(cmd);
		return 1;
	}
	if (fmt == IMPEXP_PASS && *output != NULL) {
		*ret = cli_usage("%s: pass writes to the store directory given after the format, not --output",
		    cmd->name);
		return 1;
	}
	*ret = 0;
	return 0;
}

/* Reads the whole of path into secure memory (it holds passwords): *out, *outlen; sodium_free it. */
static int
read_input(const char *path, unsigned char **out, size_t *outlen)
{
	struct stat st;
	unsigned char *b = NULL;
	size_t off = 0, size;
	int fd, rc = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return cli_fail(errno == ENOENT ? VAULT_ERR_NOTFOUND : VAULT_ERR_IO, "%s: %s", cli_esc(path),
		    strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = cli_fail(VAULT_ERR_INVAL, "%s: not a regular file", cli_esc(path));
		goto out;
	}
	if ((uint64_t)st.st_size > IMPEXP_FILE_MAX) {
		rc = cli_fail(VAULT_ERR_TOOBIG, "%s: larger than %u MiB", cli_esc(path), IMPEXP_FILE_MAX >> 20);
		goto out;
	}
	size = (size_t)st.st_size;
	if ((b = sodium_malloc(size + 1)) == NULL) {
		rc = cli_fail(VAULT_ERR_NOMEM, "out of memory");
		goto out;
	}
	while (off < size) {
		ssize_t n = read(fd, b + off, size - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = cli_fail(VAULT_ERR_IO, "%s: %s", cli_esc(path), n < 0 ? strerror(errno) : "file shrank");
			goto out;
		}
		off += (size_t)n;
	}
	*out = b;
	*outlen = off;
	b = NULL;
out:
	if (b != NULL)
		sodium_free(b);
	close(fd);
	return rc;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts record indices by name, then by position, so that a repeated name's first record comes first. */
static const struct impexp_set *sort_set;

static int
rec_cmp(const void *a, const void *b)
{
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int c = strcmp(sort_set->r[i].f[IMPEXP_NAME], sort_set->r[j].f[IMPEXP_NAME]);

	return c != 0 ? c : (i > j) - (i < j);
}

enum { ACT_ADD = 0, ACT_REPLACE, ACT_SKIP };

/* One audit entry of this process (the peer the direct open noted): op "import" or "export", no account. */
static int
audit(struct session *s, const char *op, char *outcome)
{
	vault_audit_entry e;
	char opbuf[16], none[1] = "";

	snprintf(opbuf, sizeof(opbuf), "%s", op);
	memset(&e, 0, sizeof(e));
	e.uid = s->peer.uid;
	e.pid = s->peer.pid;
	e.exe = s->peer.exe;
	e.op = opbuf;
	e.account = e.action = e.params = none;
	e.outcome = outcome;
	return vault_audit_append(s->v, &e);
}

static int
cmd_import(int argc, char **argv)
{
	struct cli_opts o = cli_defaults;
	struct session s;
	struct impexp_set set;
	unsigned char *in = NULL;
	size_t inlen = 0;
	vault_account **list = NULL;
	char **names = NULL;
	size_t nlist = 0, *order = NULL, added = 0, replaced = 0, skipped = 0, i;
	unsigned char *act = NULL;
	char err[768], outcome[200];
	const char *output = NULL, *file, *home;
	char store[PATH_MAX];
	int dry = 0, replace = 0, force = 0, use = VAULT_USE_ACTIONS, ret, rc, fmt, progress = isatty(2), began = 0;
	long fail_at = 0;

	memset(&s, 0, sizeof(s));
	memset(&set, 0, sizeof(set));
	s.fd = -1;
	if (parse(argc, argv, &cli_cmd_import, &o, &dry, &replace, &output, &force, &use, &ret) != 0)
		return ret;
	fmt = impexp_format(argv[optind]);
	file = argv[optind + 1];
	if (fmt == IMPEXP_PASS && file == NULL) {
		/* pass's own default store. */
		file = getenv("PASSWORD_STORE_DIR");
		if ((file == NULL || file[0] == '\0') && (home = getenv("HOME")) != NULL) {
			snprintf(store, sizeof(store), "%s/.password-store", home);
			file = store;
		}
		if (file == NULL || file[0] == '\0')
			return cli_usage("import: pass: no DIR, no $PASSWORD_STORE_DIR and no $HOME");
	}
#ifdef VAULT_TEST_HOOKS
	/* The integration test's way to a failure in the middle of the transaction (impexp.sh). */
	if (getenv("VAULT_TEST_IMPORT_FAIL_AT") != NULL)
		fail_at = strtol(getenv("VAULT_TEST_IMPORT_FAIL_AT"), NULL, 10);
#endif
	/* The whole file first: a malformed one never gets as far as the vault. */
	impexp_init();
	if (fmt == IMPEXP_PASS) {
		/* Every entry decrypted and parsed, before the vault is opened. */
		if ((rc = impexp_pass_read(file, &set, stderr, err, sizeof(err))) != 0) {
			ret = cli_fail(rc, "cannot import %s: %s; nothing was imported", cli_esc(file), err);
			goto out;
		}
	} else if ((ret = read_input(file, &in, &inlen)) != 0) {
		goto out;
	} else if ((rc = impexp_parse(fmt, in, inlen, &set, err, sizeof(err))) != 0) {
		ret = cli_fail(rc, "cannot import %s: %s; nothing was imported", cli_esc(file), err);
		goto out;
	}
	if (in != NULL)
		sodium_free(in);
	in = NULL;
	o.no_agent = 1;
	if ((ret = session_open(&s, &o, SESSION_UNLOCK)) != 0)
		goto out;
	if ((rc = vault_account_list(s.v, &list, &nlist)) != 0) {
		ret = cli_fail(rc, "cannot list the accounts: %s", vault_strerror(rc));
		goto out;
	}
	if ((names = calloc(nlist + 1, sizeof(*names))) == NULL ||
	    (order = calloc(set.n + 1, sizeof(*order))) == NULL || (act = calloc(set.n + 1, 1)) == NULL) {
		ret = cli_fail(VAULT_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < nlist; i++)
		names[i] = list[i]->name;
	qsort(names, nlist, sizeof(*names), name_cmp);
	for (i = 0; i < set.n; i++)
		order[i] = i;
	sort_set = &set;
	qsort(order, set.n, sizeof(*order), rec_cmp);
	/* What happens to each record: repeats in the file keep the first. */
	for (i = 0; i < set.n; i++) {
		struct impexp_rec *r = &set.r[order[i]];
		const char *nm = r->f[IMPEXP_NAME];

		if (r->why[0] != '\0') {
			act[order[i]] = ACT_SKIP;
		} else if (i > 0 && set.r[order[i - 1]].why[0] == '\0' &&
		    strcmp(set.r[order[i - 1]].f[IMPEXP_NAME], nm) == 0) {
			act[order[i]] = ACT_SKIP;
			snprintf(r->why, sizeof(r->why), "repeats the name of an earlier record");
		} else if (bsearch(&nm, names, nlist, sizeof(*names), name_cmp) != NULL) {
			act[order[i]] = replace ? ACT_REPLACE : ACT_SKIP;
			if (!replace)
				snprintf(r->why, sizeof(r->why), "an account of that name exists (--replace replaces it)");
		} else {
			act[order[i]] = ACT_ADD;
		}
	}
	for (i = 0; i < set.n; i++) {
		struct impexp_rec *r = &set.r[i];

		if (act[i] == ACT_SKIP) {
			skipped++;
			fprintf(dry ? stdout : stderr, "%srecord %zu '%s': skipped: %s\n", dry ? "would skip " : "vault: import: ", r->no,
			    cli_esc(r->f[IMPEXP_NAME]), r->why);
		} else if (dry) {
			printf("would %s record %zu '%s'\n", act[i] == ACT_ADD ? "add" : "replace", r->no,
			    cli_esc(r->f[IMPEXP_NAME]));
		}
	}
	if (dry) {
		for (i = 0; i < set.n; i++)
			added += act[i] == ACT_ADD, replaced += act[i] == ACT_REPLACE;
		printf("dry run: would import %zu, replace %zu, skip %zu; nothing was written\n", added, replaced,
		    skipped);
		goto out;
	}
	if ((rc = vault_begin(s.v)) != 0) {
		ret = cli_fail(rc, "cannot import: %s", vault_strerror(rc));
		goto out;
	}
	began = 1;
	for (i = 0; i < set.n; i++) {
		struct impexp_rec *r = &set.r[i];
		vault_account a;

		if (act[i] == ACT_SKIP)
			continue;
		impexp_rec_account(r, &a, NULL);
		a.use = use;
		if (fail_at > 0 && (size_t)fail_at == r->no) {
			rc = VAULT_ERR_IO;
		} else if (act[i] == ACT_ADD) {
			rc = vault_account_add(s.v, &a, r->pw, r->pwlen, 0);
			added += rc == 0;
		} else {
			rc = vault_account_set(s.v, a.name, r->pw, r->pwlen);
			if (rc == 0)
				rc = vault_account_edit(s.v, a.name, &a,
				    VAULT_EDIT_USER | VAULT_EDIT_DOMAIN | VAULT_EDIT_HOST | VAULT_EDIT_NOTE);
			replaced += rc == 0;
		}
		if (rc != 0) {
			const char *d = vault_errdetail(s.v);

			ret = cli_fail(rc, "cannot import record %zu '%s': %s%s%s%s; nothing was imported", r->no,
			    cli_esc(a.name), vault_strerror(rc), *d ? " (" : "", d, *d ? ")" : "");
			goto out;
		}
		if (progress && (i + 1) % 1000 == 0)
			fprintf(stderr, "\rimporting: %zu of %zu", i + 1, set.n);
	}
	if (progress && set.n >= 1000)
		fputc('\n', stderr);
	snprintf(outcome, sizeof(outcome), "imported %zu, replaced %zu, skipped %zu from %s", added, replaced,
	    skipped, impexp_format_name(fmt));
	if ((rc = audit(&s, "import", outcome)) != 0 || (rc = vault_commit(s.v)) != 0) {
		ret = cli_fail(rc, "cannot import: %s; nothing was imported", vault_strerror(rc));
		goto out;
	}
	began = 0;
	printf("imported %zu, replaced %zu, skipped %zu\n", added, replaced, skipped);
out:
	if (began)
		vault_rollback(s.v);
	free(act);
	free(order);
	free(names);
	vault_account_list_free(&list, nlist);
	impexp_set_free(&set);
	if (in != NULL)
		sodium_free(in);
	session_close(&s);
	return ret;
}

/* A temporary file beside path, 0600; its name in tmp. */
static int
out_temp(const char *path, char *tmp, size_t size, FILE **f)
{
	int fd, n;

	n = snprintf(tmp, size, "%s.tmp-XXXXXX", path);
	if (n < 0 || (size_t)n >= size)
		return cli_fail(VAULT_ERR_TOOBIG, "%s: path too long", cli_esc(path));
	if ((fd = mkstemp(tmp)) < 0) {
		tmp[0] = '\0';
		return cli_fail(VAULT_ERR_IO, "%s: %s", cli_esc(path), strerror(errno));
	}
	if (fchmod(fd, 0600) != 0 || (*f = fdopen(fd, "w")) == NULL) {
		close(fd);
		return cli_fail(VAULT_ERR_IO, "%s: %s", cli_esc(path), strerror(errno));
	}
	return 0;
}

static int
cmd_export(int argc, char **argv)
{
	struct cli_opts o = cli_defaults;
	struct session s;
	vault_account **list = NULL;
	vault_secret *pw = NULL;
	unsigned char *obuf = NULL;
	FILE *f = NULL;
	struct stat st;
	char tmp[PATH_MAX], why[768], outcome[160];
	const char *output = NULL, *store = NULL;
	size_t nlist = 0, i;
	int dry = 0, replace = 0, force = 0, use = VAULT_USE_ACTIONS, ret, rc, fmt;

	memset(&s, 0, sizeof(s));
	s.fd = -1;
	tmp[0] = '\0';
	if (parse(argc, argv, &cli_cmd_export, &o, &dry, &replace, &output, &force, &use, &ret) != 0)
		return ret;
	fmt = impexp_format(argv[optind]);
	if (fmt == IMPEXP_PASS)
		store = argv[optind + 1];
	if (output != NULL && !force && lstat(output, &st) == 0)
		return cli_fail(VAULT_ERR_EXISTS, "%s exists; --force replaces it", cli_esc(output));
	o.no_agent = 1;
	if ((ret = session_open(&s, &o, SESSION_UNLOCK)) != 0)
		goto out;
	if ((rc = vault_account_list(s.v, &list, &nlist)) != 0) {
		ret = cli_fail(rc, "cannot list the accounts: %s", vault_strerror(rc));
		goto out;
	}
	/* A store, names that are paths, no entry in the way: checked before the audit and any write. */
	if (store != NULL && (rc = impexp_pass_plan(store, list, nlist, force, why, sizeof(why))) != 0) {
		ret = cli_fail(rc, "cannot export: %s; nothing was written", why);
		goto out;
	}
	/* Audited before anything is written: the release is of every password. */
	snprintf(outcome, sizeof(outcome), "released: every password (%zu accounts), exported as %s", nlist,
	    impexp_format_name(fmt));
	if ((rc = audit(&s, "export", outcome)) != 0) {
		ret = cli_fail(rc, "cannot export: the audit record failed: %s", vault_strerror(rc));
		goto out;
	}
	if (store != NULL) {
		/* One gpg per entry; the passwords go through its stdin, from secure memory. */
		if ((rc = impexp_pass_write(s.v, store, list, nlist, force, &i, why, sizeof(why))) != 0) {
			ret = cli_fail(rc, "cannot export: %s; %zu of %zu entries were written", why, i, nlist);
			goto out;
		}
		printf("exported %zu accounts as pass to %s\n", nlist, cli_esc(store));
		goto out;
	}
	if (output != NULL) {
		if ((ret = out_temp(output, tmp, sizeof(tmp), &f)) != 0)
			goto out;
	} else {
		f = stdout;
	}
	/* stdio's buffer holds passwords: make it one that is wiped. */
	if ((obuf = sodium_malloc(BUFSIZ)) == NULL || setvbuf(f, (char *)obuf, _IOFBF, BUFSIZ) != 0) {
		ret = cli_fail(VAULT_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (isatty(2))
		fprintf(stderr, "vault: warning: the export holds every password in clear; keep it safe and "
				"delete it when done\n");
	impexp_init();
	rc = impexp_write_begin(fmt, f);
	for (i = 0; rc == 0 && i < nlist; i++) {
		why[0] = '\0';
		if ((rc = vault_secret_get(s.v, list[i]->name, 0, &pw)) != 0) {
			snprintf(why, sizeof(why), "account '%s': %s", cli_esc(list[i]->name), vault_strerror(rc));
			break;
		}
		rc = impexp_write_account(fmt, f, list[i], pw, i, why, sizeof(why));
		vault_secret_free(&pw);
	}
	if (rc == 0)
		rc = impexp_write_end(fmt, f, nlist);
	if (rc == 0 && fflush(f) != 0)
		rc = VAULT_ERR_IO;
	if (rc == 0 && output != NULL && fsync(fileno(f)) != 0)
		rc = VAULT_ERR_IO;
	if (rc != 0) {
		ret = cli_fail(rc, "cannot export: %s", why[0] ? why : rc == VAULT_ERR_IO ? strerror(errno) :
		    vault_strerror(rc));
		goto out;
	}
	if (output != NULL) {
		int frc = fclose(f);

		f = NULL;
		if (frc != 0) {
			ret = cli_fail(VAULT_ERR_IO, "%s: %s", cli_esc(output), strerror(errno));
			goto out;
		}
		if (force ? rename(tmp, output) != 0 : link(tmp, output) != 0) {
			ret = cli_fail(errno == EEXIST ? VAULT_ERR_EXISTS : VAULT_ERR_IO, "%s: %s", cli_esc(output),
			    errno == EEXIST ? "exists; --force replaces it" : strerror(errno));
			goto out;
		}
		if (!force)
			(void)unlink(tmp);
		tmp[0] = '\0';
		printf("exported %zu accounts as %s to %s (mode 0600)\n", nlist, impexp_format_name(fmt),
		    cli_esc(output));
	}
out:
	vault_secret_free(&pw);
	if (f != NULL && f != stdout)
		fclose(f);
	if (tmp[0] != '\0')
		(void)unlink(tmp);
	if (f == stdout && obuf != NULL) {
		/* stdout keeps its buffer until exit: emptied and wiped, not freed. */
		(void)fflush(stdout);
		sodium_memzero(obuf, BUFSIZ);
	} else if (obuf != NULL) {
		sodium_free(obuf);
	}
	vault_account_list_free(&list, nlist);
	session_close(&s);
	return ret;
}

/* SPDX-License-Identifier: ISC */
/*
 * impexp_pass_gpg.c - the files and the gpg of the `pass` format
 * (impexp_pass.h): vault import reads a password store, decrypting each
 * entry with the user's own gpg; vault export writes one, encrypting each
 * entry to the recipients of the store's .gpg-id. gpg runs as pass runs
 * it (/usr/bin/pass 1.7: gpg2 when there is one, else gpg, the words of
 * $PASSWORD_STORE_GPG_OPTS, then --quiet --yes --compress-algo=none
 * --no-encrypt-to --batch --use-agent), so the user's gpg-agent and
 * pinentry ask for the key's passphrase as they do for pass.
 *
 * MUST rules for this file:
 *  - gpg is run with fork and exec, never through a shell; no plaintext
 *    ever reaches argv, the environment or a file of ours: an entry is
 *    decrypted from the entry's file (gpg's stdin, opened here with
 *    O_NOFOLLOW) into a pipe read into secure memory, and encrypted from
 *    a pipe written from secure memory; gpg's stderr is the user's;
 *  - the walk never follows a symbolic link (each is skipped and noted)
 *    and skips every name starting with '.' (.git, .gpg-id, .extensions);
 *  - an import decrypts and parses every entry before the vault is
 *    opened: any gpg failure is an error naming the file;
 *  - an export writes each entry to a new 0600 file beside it and renames
 *    (--force) or links it into place: an entry appears complete or not.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "impexp_pass.h"

#define PASS_DEPTH_MAX 64       /* directories inside directories */
#define PASS_OPTS_MAX 32        /* words of $PASSWORD_STORE_GPG_OPTS */
#define PASS_RECIPIENTS_MAX 64  /* key ids in one .gpg-id */
#define PASS_GPGID_MAX 65536U   /* bytes of one .gpg-id */
#define PASS_ARGV_MAX (16 + PASS_OPTS_MAX + 2 * PASS_RECIPIENTS_MAX)

/* A growing buffer in secure memory (decrypted entries). */
struct sbuf {
	unsigned char *p;
	size_t len, cap;
};

static void
sbuf_free(struct sbuf *b)
{
	if (b->p != NULL)
		sodium_free(b->p); /* wipes */
	memset(b, 0, sizeof(*b));
}

static int
sbuf_grow(struct sbuf *b, size_t want)
{
	unsigned char *p;
	size_t cap = b->cap ? b->cap : 4096;

	while (cap < want)
		cap *= 2;
	if (cap == b->cap)
		return 0;
	if ((p = sodium_malloc(cap)) == NULL)
		return VAULT_ERR_NOMEM;
	if (b->len > 0)
		memcpy(p, b->p, b->len);
	if (b->p != NULL)
		sodium_free(b->p);
	b->p = p;
	b->cap = cap;
	return 0;
}

/* The words of $PASSWORD_STORE_GPG_OPTS, as pass splits them: only plain words, which need no shell to mean the same. */
static int
user_opts(char *buf, size_t size, char **words, size_t *n, char *err, size_t errlen)
{
	const char *env = getenv("PASSWORD_STORE_GPG_OPTS");
	char *p;

	*n = 0;
	if (env == NULL || env[0] == '\0')
		return 0;
	if (strlen(env) >= size) {
		snprintf(err, errlen, "$PASSWORD_STORE_GPG_OPTS is longer than %zu bytes", size - 1);
		return VAULT_ERR_TOOBIG;
	}
	for (const char *c = env; *c != '\0'; c++) {
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
			strchr(" \t-_=.,:/+@%", *c) != NULL)) {
			snprintf(err, errlen, "$PASSWORD_STORE_GPG_OPTS: only plain words (letters, digits and "
					      "-_=.,:/+@%%) separated by spaces are supported, not '%c'",
			    *c >= 0x20 && *c < 0x7f ? *c : '?');
			return VAULT_ERR_INVAL;
		}
	}
	memcpy(buf, env, strlen(env) + 1);
	for (p = strtok(buf, " \t"); p != NULL; p = strtok(NULL, " \t")) {
		if (*n == PASS_OPTS_MAX) {
			snprintf(err, errlen, "$PASSWORD_STORE_GPG_OPTS has more than %d words", PASS_OPTS_MAX);
			return VAULT_ERR_TOOBIG;
		}
		words[(*n)++] = p;
	}
	return 0;
}

/* Appends the user's words and pass's own options to argv (at *n). */
static void
common_opts(const char **argv, size_t *n, char *const *words, size_t nwords)
{
	static const char *const fixed[] = { "--quiet", "--yes", "--compress-algo=none", "--no-encrypt-to", "--batch",
		"--use-agent" };

	for (size_t i = 0; i < nwords; i++)
		argv[(*n)++] = words[i];
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		argv[(*n)++] = fixed[i];
}

/*
 * Runs gpg with argv: stdin from in_fd, or (in_fd < 0) a pipe fed the
 * len bytes at in; stdout into out (at most IMPEXP_PASS_ENTRY_MAX bytes)
 * or, when out is NULL, /dev/null; stderr the user's. 0 when gpg exits
 * 0; else VAULT_ERR_IO with *status its exit code (or 128 + its signal,
 * or 127 when it could not be run), VAULT_ERR_TOOBIG, VAULT_ERR_NOMEM.
 */
static int
gpg_run(const char *const *argv, int in_fd, const unsigned char *in, size_t len, struct sbuf *out, int *status)
{
	struct sigaction ign, old;
	int inp[2] = { -1, -1 }, outp[2] = { -1, -1 }, null = -1, rc = 0, ws, saved;
	pid_t pid;

	*status = 127;
	if ((in_fd < 0 && pipe2(inp, O_CLOEXEC) != 0) || (out != NULL && pipe2(outp, O_CLOEXEC) != 0) ||
	    (out == NULL && (null = open("/dev/null", O_WRONLY | O_CLOEXEC)) < 0)) {
		rc = VAULT_ERR_IO;
		goto out;
	}
	fflush(NULL);
	if ((pid = fork()) < 0) {
		rc = VAULT_ERR_IO;
		goto out;
	}
	if (pid == 0) {
		/* The child: gpg's descriptors, nothing else of ours (the vault's file included). */
		signal(SIGPIPE, SIG_DFL);
		umask(077);
		if (dup2(in_fd >= 0 ? in_fd : inp[0], 0) < 0 || dup2(out != NULL ? outp[1] : null, 1) < 0)
			_exit(127);
		if (close_range(3, ~0U, 0) != 0)
			for (int fd = 3; fd < 1024; fd++)
				(void)close(fd); /* a kernel before 5.9 */
		execvp("gpg2", (char *const *)(uintptr_t)argv);
		if (errno == ENOENT)
			execvp("gpg", (char *const *)(uintptr_t)argv);
		_exit(127);
	}
	if (inp[0] >= 0) {
		size_t off = 0;

		close(inp[0]);
		inp[0] = -1;
		/* gpg may stop reading (a bad key): EPIPE, not SIGPIPE; its exit status says why. */
		memset(&ign, 0, sizeof(ign));
		ign.sa_handler = SIG_IGN;
		sigaction(SIGPIPE, &ign, &old);
		while (off < len) {
			ssize_t n = write(inp[1], in + off, len - off);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			off += (size_t)n;
		}
		close(inp[1]);
		inp[1] = -1;
		sigaction(SIGPIPE, &old, NULL);
	}
	if (outp[1] >= 0) {
		close(outp[1]);
		outp[1] = -1;
		out->len = 0;
		for (;;) {
			ssize_t n;

			if (out->len == out->cap && rc == 0) {
				if (out->cap >= IMPEXP_PASS_ENTRY_MAX + 1)
					rc = VAULT_ERR_TOOBIG;
				else
					rc = sbuf_grow(out, out->cap + 1);
				if (rc != 0) {
					kill(pid, SIGTERM);
					break;
				}
			}
			n = read(outp[0], out->p + out->len, out->cap - out->len);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			out->len += (size_t)n;
		}
		close(outp[0]);
		outp[0] = -1;
	}
	while (waitpid(pid, &ws, 0) < 0) {
		if (errno != EINTR) {
			ws = 127 << 8;
			break;
		}
	}
	*status = WIFEXITED(ws) ? WEXITSTATUS(ws) : WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) : 127;
	if (rc == 0 && *status != 0)
		rc = VAULT_ERR_IO;
out:
	saved = errno;
	for (int i = 0; i < 2; i++) {
		if (inp[i] >= 0)
			close(inp[i]);
		if (outp[i] >= 0)
			close(outp[i]);
	}
	if (null >= 0)
		close(null);
	errno = saved;
	return rc;
}

/* Why gpg failed, for an error message. */
static const char *
gpg_why(int status)
{
	static char buf[64];

	if (status == 127)
		return "gpg could not be run (is it installed?)";
	snprintf(buf, sizeof(buf), "gpg failed (%s %d)", status > 128 ? "signal" : "exit status",
	    status > 128 ? status - 128 : status);
	return buf;
}

/* ---- import ---- */

struct walk {
	struct impexp_set *out;
	FILE *notes;
	const char *argv[PASS_ARGV_MAX];
	size_t argc;
	struct sbuf plain;
	char rel[PATH_MAX];
	size_t no, from_path;
	char *err;
	size_t errlen;
};

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Room for need more bytes in the pool, which grows (its passwords' pointers moved along). */
static int
pool_reserve(struct impexp_set *s, size_t need)
{
	unsigned char *p;
	size_t cap = s->poolcap ? s->poolcap : 4096;

	if (s->pool != NULL && s->poolcap - s->poollen >= need)
		return 0;
	if (need > IMPEXP_FILE_MAX - s->poollen)
		return VAULT_ERR_TOOBIG;
	while (cap - s->poollen < need)
		cap *= 2;
	if ((p = sodium_malloc(cap)) == NULL)
		return VAULT_ERR_NOMEM;
	if (s->poollen > 0)
		memcpy(p, s->pool, s->poollen);
	for (size_t i = 0; i < s->n; i++)
		if (s->r[i].pw != NULL)
			s->r[i].pw = p + (s->r[i].pw - s->pool);
	if (s->pool != NULL)
		sodium_free(s->pool);
	s->pool = p;
	s->poolcap = cap;
	return 0;
}

/* Decrypts the entry name (an open directory dfd, its path in w->rel) and adds its record. */
static int
walk_entry(struct walk *w, int dfd, const char *name, size_t rellen)
{
	struct stat st;
	char e[256];
	const char *why;
	int fd, rc, status, ufp;

	if ((fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)) < 0 ||
	    fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(w->err, w->errlen, "%s: %s", cli_esc(w->rel), fd < 0 ? strerror(errno) : "not a regular file");
		if (fd >= 0)
			close(fd);
		return VAULT_ERR_IO;
	}
	w->argv[w->argc] = NULL;
	rc = gpg_run(w->argv, fd, NULL, 0, &w->plain, &status);
	close(fd);
	if (rc != 0) {
		snprintf(w->err, w->errlen, "%s: %s", cli_esc(w->rel),
		    rc == VAULT_ERR_TOOBIG ? "the decrypted entry is longer than 1 MiB" :
		    rc == VAULT_ERR_IO ? gpg_why(status) : vault_strerror(rc));
		return rc;
	}
	if ((rc = pool_reserve(w->out, w->plain.len + 1)) != 0) {
		snprintf(w->err, w->errlen, "%s: %s", cli_esc(w->rel), vault_strerror(rc));
		return rc;
	}
	w->rel[rellen - 4] = '\0'; /* the name: no ".gpg" */
	rc = impexp_pass_entry(w->out, ++w->no, w->rel, w->plain.p, w->plain.len, &ufp, e, sizeof(e));
	w->rel[rellen - 4] = '.';
	sodium_memzero(w->plain.p, w->plain.len);
	w->plain.len = 0;
	if (rc != 0) {
		/* Its errors name the record: here the file says where. */
		why = strncmp(e, "record ", 7) == 0 && strstr(e, ": ") != NULL ? strstr(e, ": ") + 2 : e;
		snprintf(w->err, w->errlen, "%s: %s", cli_esc(w->rel), why);
		return rc;
	}
	w->from_path += ufp && w->out->r[w->out->n - 1].why[0] == '\0';
	return 0;
}

/* Walks the directory dfd (closed here), whose path under the store is w->rel (rellen bytes). */
static int
walk_dir(struct walk *w, int dfd, size_t rellen, int depth)
{
	DIR *d = NULL;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0, i;
	int rc = 0, fd;

	if (depth > PASS_DEPTH_MAX) {
		snprintf(w->err, w->errlen, "%s: more than %d directories deep", cli_esc(w->rel), PASS_DEPTH_MAX);
		rc = VAULT_ERR_TOOBIG;
		goto out;
	}
	if ((fd = dup(dfd)) < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		snprintf(w->err, w->errlen, "%s: %s", rellen ? cli_esc(w->rel) : ".", strerror(errno));
		rc = VAULT_ERR_IO;
		goto out;
	}
	/* Sorted: the records come in the same order on every run. */
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue; /* ., .., .git, .gpg-id, .extensions and every other dot file */
		if (n == cap) {
			char **nn;

			cap = cap ? cap * 2 : 32;
			if ((nn = realloc(names, cap * sizeof(*names))) == NULL) {
				rc = VAULT_ERR_NOMEM;
				goto out;
			}
			names = nn;
		}
		if ((names[n] = strdup(de->d_name)) == NULL) {
			rc = VAULT_ERR_NOMEM;
			goto out;
		}
		n++;
	}
	if (n > 0)
		qsort(names, n, sizeof(*names), name_cmp);
	for (i = 0; i < n && rc == 0; i++) {
		struct stat st;
		size_t nl = strlen(names[i]), len = rellen + (rellen > 0) + nl;

		if (len >= sizeof(w->rel)) {
			snprintf(w->err, w->errlen, "%s/...: path too long", cli_esc(w->rel));
			rc = VAULT_ERR_TOOBIG;
			break;
		}
		if (rellen > 0)
			w->rel[rellen] = '/';
		memcpy(w->rel + len - nl, names[i], nl + 1);
		if (fstatat(dfd, names[i], &st, AT_SYMLINK_NOFOLLOW) != 0) {
			snprintf(w->err, w->errlen, "%s: %s", cli_esc(w->rel), strerror(errno));
			rc = VAULT_ERR_IO;
		} else if (S_ISLNK(st.st_mode)) {
			if (w->notes != NULL)
				fprintf(w->notes, "vault: import: %s: skipped: a symbolic link (not followed)\n",
				    cli_esc(w->rel));
		} else if (S_ISDIR(st.st_mode)) {
			if ((fd = openat(dfd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
				snprintf(w->err, w->errlen, "%s: %s", cli_esc(w->rel), strerror(errno));
				rc = VAULT_ERR_IO;
			} else {
				rc = walk_dir(w, fd, len, depth + 1);
			}
		} else if (S_ISREG(st.st_mode) && nl > 4 && strcmp(names[i] + nl - 4, ".gpg") == 0) {
			rc = walk_entry(w, dfd, names[i], len);
		}
		w->rel[rellen] = '\0';
	}
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (d != NULL)
		closedir(d);
	close(dfd);
	return rc;
}

int
impexp_pass_read(const char *dir, struct impexp_set *out, FILE *notes, char *err, size_t errlen)
{
	struct walk *w;
	char *words[PASS_OPTS_MAX], optbuf[1024];
	size_t nwords = 0;
	int dfd, rc;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return VAULT_ERR_NOMEM;
	w->out = out;
	w->notes = notes;
	w->err = err;
	w->errlen = errlen;
	if ((rc = user_opts(optbuf, sizeof(optbuf), words, &nwords, err, errlen)) != 0)
		goto out;
	w->argv[w->argc++] = "gpg";
	w->argv[w->argc++] = "-d";
	common_opts(w->argv, &w->argc, words, nwords);
	/* The entry comes on stdin: a file opened here, so that no symbolic link swapped in is followed. */
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "%s: %s", cli_esc(dir), strerror(errno));
		rc = errno == ENOENT ? VAULT_ERR_NOTFOUND : VAULT_ERR_IO;
		goto out;
	}
	if (getenv("GPG_TTY") == NULL && isatty(0) && ttyname(0) != NULL)
		setenv("GPG_TTY", ttyname(0), 0); /* as pass does: pinentry-curses asks there */
	if ((rc = walk_dir(w, dfd, 0, 0)) != 0)
		goto out;
	if (out->n == 0) {
		snprintf(err, errlen, "no entries (*.gpg files) under %s: is it a password store?", cli_esc(dir));
		rc = VAULT_ERR_INVAL;
		goto out;
	}
	if (w->from_path > 0 && notes != NULL)
		fprintf(notes, "vault: import: %zu %s no login: line: the user is the entry's last path "
			       "component (vault edit --user changes it)\n",
		    w->from_path, w->from_path == 1 ? "entry has" : "entries have");
out:
	sbuf_free(&w->plain);
	sodium_memzero(optbuf, sizeof(optbuf));
	free(w);
	return rc;
}

/* ---- export ---- */

/* Whether name is a store path pass would list: components neither empty nor starting with '.'. */
static int
path_ok(const char *name)
{
	const char *p = name;

	for (;;) {
		const char *e = strchr(p, '/');
		size_t n = e != NULL ? (size_t)(e - p) : strlen(p);

		if (n == 0 || p[0] == '.' || n > NAME_MAX - 32) /* room for ".gpg.tmp-" and 12 hex digits */
			return 0;
		if (e == NULL)
			return 1;
		p = e + 1;
	}
}

/*
 * The recipients of entry name: $PASSWORD_STORE_KEY's words, else the
 * lines of the nearest .gpg-id above it (as pass finds them), '#'
 * comments and blank lines left out. Stored in buf; argv gets "-r", id.
 */
static int
recipients(int root, const char *dir, const char *name, char *buf, size_t size, const char **argv, size_t *argc, char *err,
    size_t errlen)
{
	const char *env = getenv("PASSWORD_STORE_KEY");
	char path[PATH_MAX], *p, *line, *save = NULL;
	size_t n = 0, nr = 0;
	ssize_t got;
	int fd = -1;

	if (env != NULL && env[0] != '\0') {
		if (strlen(env) >= size) {
			snprintf(err, errlen, "$PASSWORD_STORE_KEY is too long");
			return VAULT_ERR_TOOBIG;
		}
		memcpy(buf, env, strlen(env) + 1);
		for (p = strtok_r(buf, " \t\n", &save); p != NULL; p = strtok_r(NULL, " \t\n", &save)) {
			if (nr == PASS_RECIPIENTS_MAX)
				break;
			argv[(*argc)++] = "-r";
			argv[(*argc)++] = p;
			nr++;
		}
		if (nr == 0)
			snprintf(err, errlen, "$PASSWORD_STORE_KEY names no key");
		return nr > 0 ? 0 : VAULT_ERR_INVAL;
	}
	snprintf(path, sizeof(path), "%s", name);
	for (;;) {
		char *slash = strrchr(path, '/');

		if (slash != NULL)
			memcpy(slash + 1, ".gpg-id", 8);
		else
			memcpy(path, ".gpg-id", 8);
		if ((fd = openat(root, path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)) >= 0 ||
		    slash == NULL)
			break;
		*slash = '\0';
	}
	if (fd < 0) {
		snprintf(err, errlen, "%s has no .gpg-id: make it a password store first: "
				      "PASSWORD_STORE_DIR=%s pass init GPG-ID", cli_esc(dir), cli_esc(dir));
		return VAULT_ERR_NOTFOUND;
	}
	while (n < size - 1 && (got = read(fd, buf + n, size - 1 - n)) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			break;
		n += (size_t)got;
	}
	close(fd);
	buf[n] = '\0';
	for (line = strtok_r(buf, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		char *hash = strchr(line, '#'), *end;

		if (hash != NULL)
			*hash = '\0';
		while (*line == ' ' || *line == '\t')
			line++;
		for (end = line + strlen(line); end > line && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r');)
			*--end = '\0';
		if (*line == '\0' || nr == PASS_RECIPIENTS_MAX)
			continue;
		argv[(*argc)++] = "-r";
		argv[(*argc)++] = line;
		nr++;
	}
	if (nr == 0) {
		snprintf(err, errlen, "%s/%s names no key: run 'pass init GPG-ID' first", cli_esc(dir), cli_esc(path));
		return VAULT_ERR_INVAL;
	}
	return 0;
}

int
impexp_pass_plan(const char *dir, vault_account *const *list, size_t n, int force, char *err, size_t errlen)
{
	const char *argv[PASS_ARGV_MAX];
	char *buf = NULL, path[PATH_MAX];
	size_t argc = 0;
	int root, rc = 0;

	if ((root = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "%s: %s; make the store with 'pass init GPG-ID' (PASSWORD_STORE_DIR=%s)",
		    cli_esc(dir), strerror(errno), cli_esc(dir));
		return errno == ENOENT ? VAULT_ERR_NOTFOUND : VAULT_ERR_IO;
	}
	if ((buf = malloc(PASS_GPGID_MAX)) == NULL) {
		rc = VAULT_ERR_NOMEM;
		goto out;
	}
	/* A store: its own .gpg-id (or $PASSWORD_STORE_KEY), whatever its subfolders say. */
	if ((rc = recipients(root, dir, "entry", buf, PASS_GPGID_MAX, argv, &argc, err, errlen)) != 0)
		goto out;
	for (size_t i = 0; i < n && rc == 0; i++) {
		const char *name = list[i]->name;
		struct stat st;
		char *p;

		if (!path_ok(name) || strlen(name) + 4 >= sizeof(path)) {
			snprintf(err, errlen, "account '%s': its name is no password-store path (an empty component "
					      "or one starting with '.'); rename it (vault mv) first", cli_esc(name));
			rc = VAULT_ERR_NAME;
			break;
		}
		argc = 0;
		if ((rc = recipients(root, dir, name, buf, PASS_GPGID_MAX, argv, &argc, err, errlen)) != 0)
			break;
		/* Every directory above the entry: one, or nothing yet; never a link or a file. */
		snprintf(path, sizeof(path), "%s.gpg", name);
		for (p = strchr(path, '/'); p != NULL; p = strchr(p + 1, '/')) {
			*p = '\0';
			if (fstatat(root, path, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode)) {
				snprintf(err, errlen, "%s/%s is in the way of account '%s': not a directory", cli_esc(dir),
				    cli_esc(path), cli_esc(name));
				rc = VAULT_ERR_EXISTS;
			}
			*p = '/';
			if (rc != 0)
				break;
		}
		if (rc == 0 && !force && fstatat(root, path, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			snprintf(err, errlen, "%s/%s exists; --force replaces it", cli_esc(dir), cli_esc(path));
			rc = VAULT_ERR_EXISTS;
		}
	}
out:
	free(buf);
	close(root);
	return rc;
}

/* Opens (making it, 0700) the directory of entry name under root; its fd, or -1 with errno. */
static int
entry_dir(int root, const char *name)
{
	char part[PATH_MAX];
	const char *p = name, *e;
	int d = dup(root), nd;

	while (d >= 0 && (e = strchr(p, '/')) != NULL) {
		memcpy(part, p, (size_t)(e - p));
		part[e - p] = '\0';
		if (mkdirat(d, part, 0700) != 0 && errno != EEXIST) {
			nd = -1;
		} else {
			nd = openat(d, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		close(d);
		d = nd;
		p = e + 1;
	}
	return d;
}

/* Encrypts one entry: a new 0600 file beside it, gpg -o into it, then renamed or linked into place. */
static int
put_entry(int root, const char *dir, const vault_account *a, const unsigned char *text, size_t len,
    const char *const *words, size_t nwords, int force, char *gpgid, char *err, size_t errlen)
{
	const char *argv[PASS_ARGV_MAX], *base = strrchr(a->name, '/');
	char tmp[NAME_MAX + 32], final[NAME_MAX + 32], full[PATH_MAX];
	unsigned char rnd[6];
	size_t argc = 0;
	int d = -1, fd, rc, status, n;

	base = base != NULL ? base + 1 : a->name;
	argv[argc++] = "gpg";
	argv[argc++] = "-e";
	if ((rc = recipients(root, dir, a->name, gpgid, PASS_GPGID_MAX, argv, &argc, err, errlen)) != 0)
		return rc;
	if ((d = entry_dir(root, a->name)) < 0) {
		snprintf(err, errlen, "%s/%s: %s", cli_esc(dir), cli_esc(a->name), strerror(errno));
		return VAULT_ERR_IO;
	}
	randombytes_buf(rnd, sizeof(rnd));
	snprintf(final, sizeof(final), "%s.gpg", base);
	snprintf(tmp, sizeof(tmp), "%s.gpg.tmp-%02x%02x%02x%02x%02x%02x", base, rnd[0], rnd[1], rnd[2], rnd[3],
	    rnd[4], rnd[5]);
	n = snprintf(full, sizeof(full), "%s/%.*s%s", dir, (int)(base - a->name), a->name, tmp);
	if (n < 0 || (size_t)n >= sizeof(full)) {
		snprintf(err, errlen, "%s/%s: path too long", cli_esc(dir), cli_esc(a->name));
		close(d);
		return VAULT_ERR_TOOBIG;
	}
	/* The name is ours (O_EXCL, 0600) before gpg writes it (--yes: over our empty file). */
	if ((fd = openat(d, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0) {
		snprintf(err, errlen, "%s: %s", cli_esc(full), strerror(errno));
		close(d);
		return VAULT_ERR_IO;
	}
	close(fd);
	argv[argc++] = "-o";
	argv[argc++] = full;
	common_opts(argv, &argc, (char *const *)(uintptr_t)words, nwords);
	argv[argc] = NULL;
	rc = gpg_run(argv, -1, text, len, NULL, &status);
	if (rc != 0) {
		snprintf(err, errlen, "account '%s': %s (are the keys of .gpg-id on the keyring, and trusted?)",
		    cli_esc(a->name), gpg_why(status));
	} else if (force ? renameat(d, tmp, d, final) != 0 : linkat(d, tmp, d, final, 0) != 0) {
		snprintf(err, errlen, "%s/%s.gpg: %s", cli_esc(dir), cli_esc(a->name),
		    errno == EEXIST ? "exists; --force replaces it" : strerror(errno));
		rc = errno == EEXIST ? VAULT_ERR_EXISTS : VAULT_ERR_IO;
	} else if (!force) {
		(void)unlinkat(d, tmp, 0);
	}
	if (rc != 0)
		(void)unlinkat(d, tmp, 0);
	close(d);
	return rc;
}

int
impexp_pass_write(vault *v, const char *dir, vault_account *const *list, size_t n, int force, size_t *done,
    char *err, size_t errlen)
{
	vault_secret *pw = NULL;
	unsigned char *text = NULL;
	char *words[PASS_OPTS_MAX], optbuf[1024], *gpgid = NULL;
	size_t nwords = 0, len = 0, size = 0;
	int root, rc;

	*done = 0;
	if ((rc = user_opts(optbuf, sizeof(optbuf), words, &nwords, err, errlen)) != 0)
		return rc;
	if ((root = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "%s: %s", cli_esc(dir), strerror(errno));
		return VAULT_ERR_IO;
	}
	if ((gpgid = malloc(PASS_GPGID_MAX)) == NULL) {
		rc = VAULT_ERR_NOMEM;
		goto out;
	}
	if (getenv("GPG_TTY") == NULL && isatty(0) && ttyname(0) != NULL)
		setenv("GPG_TTY", ttyname(0), 0);
	for (size_t i = 0; i < n; i++) {
		if ((rc = vault_secret_get(v, list[i]->name, 0, &pw)) != 0) {
			snprintf(err, errlen, "account '%s': %s", cli_esc(list[i]->name), vault_strerror(rc));
			break;
		}
		size = impexp_pass_text_size(list[i], pw);
		if ((text = sodium_malloc(size)) == NULL) {
			rc = VAULT_ERR_NOMEM;
			break;
		}
		if ((rc = impexp_pass_text(list[i], pw, text, &len)) != 0) {
			snprintf(err, errlen, "account '%s': the password holds a line break, which cannot be the first "
					      "line of a pass entry", cli_esc(list[i]->name));
			break;
		}
		vault_secret_free(&pw);
		rc = put_entry(root, dir, list[i], text, len, (const char *const *)words, nwords, force, gpgid, err,
		    errlen);
		sodium_free(text); /* wipes */
		text = NULL;
		if (rc != 0)
			break;
		(*done)++;
	}
out:
	vault_secret_free(&pw);
	if (text != NULL)
		sodium_free(text);
	free(gpgid);
	close(root);
	return rc;
}

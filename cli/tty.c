/* SPDX-License-Identifier: ISC */
/*
 * tty.c - reading passphrases and passwords without leaking them: where
 * a passphrase comes from (VAULT_PASSPHRASE_FD, _FILE, _COMMAND, pinentry,
 * the terminal), on every platform. The terminal itself is tty_posix.c's
 * or tty_win32.c's (tty.h).
 *
 * MUST rules:
 *  - every byte read lands directly in a vault_secret (sodium_malloc);
 *    no stdio buffering, no intermediate copies;
 *  - echo is restored on every path, including SIGINT/SIGTERM/SIGHUP
 *    (Ctrl-C and Ctrl-Break on Windows);
 *  - with no terminal, no pinentry and no VAULT_PASSPHRASE_FD/FILE/COMMAND,
 *    fail at once: a 3 a.m. cron job must never hang on a prompt nobody
 *    will answer.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "common.h"
#include "platform.h"
#include "tty.h"

volatile sig_atomic_t cli_tty_signal;

int
cli_read_line_fd(int fd, vault_secret **out)
{
	vault_secret *s = NULL;
	unsigned char c;
	int rc;

	if ((rc = vault_secret_new(&s, VAULT_PASSPHRASE_MAX > VAULT_SECRET_MAX ?
		     VAULT_PASSPHRASE_MAX : VAULT_SECRET_MAX)) != 0)
		return rc;
	for (;;) {
		long n = (long)read(fd, &c, 1);

		if (n < 0 && errno == EINTR) {
			if (cli_tty_signal)
				break;
			continue;
		}
		if (n < 0) {
			rc = VAULT_ERR_IO;
			goto out;
		}
		if (n == 0 || c == '\n')
			break;
		if (s->len == s->cap) {
			rc = VAULT_ERR_TOOBIG;
			/* Drain the rest of the line so it does not reach a shell. */
			while (read(fd, &c, 1) == 1 && c != '\n')
				;
			goto out;
		}
		s->buf[s->len++] = c;
	}
	if (cli_tty_signal) {
		rc = VAULT_ERR_INVAL;
		goto out;
	}
	if (s->len > 0 && s->buf[s->len - 1] == '\r')
		s->buf[--s->len] = '\0';
	c = 0;
out:
	if (rc != 0)
		vault_secret_free(&s);
	*out = s;
	return rc;
}

static int
read_env_fd(vault_secret **out, const char *val)
{
	uint32_t fd;

	if (parse_u32(val, 0, 1 << 20, &fd) != 0)
		return VAULT_ERR_INVAL;
	return cli_read_line_fd((int)fd, out);
}

/*
 * The Nth passphrase a command needs comes from the Nth line of the file,
 * so `vault passwd` reads the current one from line 1 and the new one
 * from line 2, as it would read two lines from VAULT_PASSPHRASE_FD. The
 * file is opened without following a link, and must be a regular file of
 * the user's that nobody else may read (vault_plat_trust_fd, strict: mode
 * 0600, or on Windows a DACL for the user alone).
 */
static int
read_env_file(vault_secret **out, const char *path)
{
	static unsigned line;
	vault_file_info fi;
	vault_secret *skip = NULL;
	char why[256];
	unsigned i;
	int fd, rc = 0;

	fd = vault_plat_open_nofollow(path);
	if (fd < 0)
		return errno == ENOENT ? VAULT_ERR_NOTFOUND : errno == ELOOP ? VAULT_ERR_SYMLINK : VAULT_ERR_IO;
	if (vault_plat_fstat(fd, &fi) != 0 || !fi.regular || vault_plat_trust_fd(fd, 1, why, sizeof(why)) != 0) {
		close(fd);
		return VAULT_ERR_PERM;
	}
	for (i = 0; i < line && rc == 0; i++) {
		rc = cli_read_line_fd(fd, &skip);
		vault_secret_free(&skip);
	}
	if (rc == 0)
		rc = cli_read_line_fd(fd, out);
	close(fd);
	line++;
	return rc;
}

static int
env_set(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0';
}

int
cli_passphrase_interactive(void)
{
	char prog[4096];

	if (env_set("VAULT_PASSPHRASE_FD") || env_set("VAULT_PASSPHRASE_FILE") || env_set("VAULT_PASSPHRASE_COMMAND"))
		return 0;
	return cli_pinentry_program(prog, sizeof(prog)) == 1 || cli_can_prompt();
}

int
cli_passphrase_available(void)
{
	char prog[4096];

	return env_set("VAULT_PASSPHRASE_FD") || env_set("VAULT_PASSPHRASE_FILE") ||
	    env_set("VAULT_PASSPHRASE_COMMAND") || cli_pinentry_program(prog, sizeof(prog)) == 1 || cli_can_prompt();
}

/* Asks a person: through pinentry if there is one, else on the terminal. */
static int
ask_person(vault_secret **out, const char *prompt, const char *error, int repeat)
{
	char prog[4096];
	int rc, which = cli_pinentry_program(prog, sizeof(prog));

	if (which < 0) {
		const char *env = getenv("VAULT_PINENTRY");
		const struct vault_config *conf;

		if (env != NULL && *env != '\0')
			cli_fail(VAULT_ERR_NOTFOUND, "VAULT_PINENTRY=%s: no such program (set it to a pinentry, "
						     "or to 'none' for the terminal prompt)", cli_esc(env));
		else if (cli_config(&conf) == 0)
			cli_fail(VAULT_ERR_NOTFOUND, "%s:%d: pinentry = %s: no such program (name a pinentry, "
						     "or 'none' for the terminal prompt)", conf->path,
			    conf->line[CONF_PINENTRY], cli_esc(config_get(conf, CONF_PINENTRY)));
		return VAULT_ERR_NOTFOUND;
	}
	if (which == 1)
		return cli_pinentry_read(out, prog, repeat ? "Repeat the passphrase to confirm it." : prompt,
		    repeat ? "Repeat:" : "Passphrase:", error);
	if (error != NULL)
		cli_tty_say(error);
	if ((rc = cli_tty_read(out, repeat ? "Repeat passphrase: " : prompt)) != 0) {
		if (rc == CLI_ERR_NOTTY)
			cli_fail(rc, CLI_TTY_NOTTY_MSG);
		else
			cli_fail(rc, "cannot read the passphrase: %s", vault_strerror(rc));
	}
	return rc;
}

int
cli_read_passphrase_again(vault_secret **out, const char *prompt, int confirm, const char *error)
{
	const char *fdv = getenv("VAULT_PASSPHRASE_FD");
	const char *file = getenv("VAULT_PASSPHRASE_FILE");
	const char *cmd = getenv("VAULT_PASSPHRASE_COMMAND");
	vault_secret *again = NULL;
	int rc, status;

	*out = NULL;
	if (fdv != NULL && *fdv != '\0') {
		if ((rc = read_env_fd(out, fdv)) != 0) {
			cli_fail(rc, "VAULT_PASSPHRASE_FD=%s: cannot read a passphrase: %s", fdv, vault_strerror(rc));
			return rc;
		}
	} else if (file != NULL && *file != '\0') {
		if ((rc = read_env_file(out, file)) != 0) {
			cli_fail(rc, "VAULT_PASSPHRASE_FILE=%s: %s", file,
			    rc == VAULT_ERR_PERM ? "must be a regular file of yours, not readable by group or others (chmod 600)" :
						   vault_strerror(rc));
			return rc;
		}
	} else if (cmd != NULL && *cmd != '\0') {
		/* The command is the user's own setting; it is not echoed back (it may name a secret's place). */
		if ((rc = cli_passphrase_command(out, cmd, prompt, &status)) != 0) {
			if (status == 127)
				cli_fail(rc, "VAULT_PASSPHRASE_COMMAND could not be run (status 127)");
			else if (status > 0)
				cli_fail(rc, "VAULT_PASSPHRASE_COMMAND failed (status %d); no passphrase was taken", status);
			else
				cli_fail(rc, "VAULT_PASSPHRASE_COMMAND: cannot read a passphrase: %s", vault_strerror(rc));
			return rc;
		}
	} else {
		if ((rc = ask_person(out, prompt, error, 0)) != 0)
			return rc;
		if (confirm) {
			if ((rc = ask_person(&again, prompt, NULL, 1)) != 0) {
				vault_secret_free(out);
				return rc;
			}
			if (again->len != (*out)->len ||
			    sodium_memcmp(again->buf, (*out)->buf, again->len) != 0) {
				vault_secret_free(&again);
				vault_secret_free(out);
				cli_fail(CLI_ERR_MISMATCH, "passphrases do not match; nothing was changed");
				return CLI_ERR_MISMATCH;
			}
			vault_secret_free(&again);
		}
	}
	if ((*out)->len == 0) {
		vault_secret_free(out);
		cli_fail(VAULT_ERR_EMPTY, "an empty passphrase is not allowed");
		return VAULT_ERR_EMPTY;
	}
	return 0;
}

int
cli_read_passphrase(vault_secret **out, const char *prompt, int confirm)
{
	return cli_read_passphrase_again(out, prompt, confirm, NULL);
}

int
cli_read_secret(vault_secret **out, const char *prompt)
{
	vault_secret *again = NULL;
	int rc;

	*out = NULL;
	if (!isatty(STDIN_FILENO)) {
		if ((rc = cli_read_line_fd(STDIN_FILENO, out)) != 0)
			cli_fail(rc, "cannot read the password from standard input: %s", vault_strerror(rc));
		return rc;
	}
	if ((rc = cli_tty_read(out, prompt)) != 0 || (rc = cli_tty_read(&again, "Repeat password: ")) != 0) {
		vault_secret_free(out);
		cli_fail(rc, "cannot read the password: %s", vault_strerror(rc));
		return rc;
	}
	if (again->len != (*out)->len || sodium_memcmp(again->buf, (*out)->buf, again->len) != 0) {
		vault_secret_free(&again);
		vault_secret_free(out);
		cli_fail(CLI_ERR_MISMATCH, "passwords do not match; nothing was stored");
		return CLI_ERR_MISMATCH;
	}
	vault_secret_free(&again);
	return 0;
}

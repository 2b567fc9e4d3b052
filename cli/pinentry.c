/* SPDX-License-Identifier: ISC */
/*
 * pinentry.c - asking for the master passphrase through the user's
 * pinentry program, as gpg-agent does: the Assuan protocol (line-based;
 * https://www.gnupg.org/documentation/manuals/assuan/) over the program's
 * stdin and stdout.
 *
 *   -> (greeting)          <- OK Pleased to meet you
 *   OPTION ttyname=...     <- OK            (when we have a terminal)
 *   SETDESC ... / SETPROMPT / SETERROR      <- OK
 *   GETPIN                 <- D <percent-escaped passphrase>  <- OK
 *                          or ERR 83886179 Operation cancelled
 *   BYE
 *
 * Which program: VAULT_PINENTRY (a path, or a name looked up in PATH);
 * "none" turns it off. Without VAULT_PINENTRY, `pinentry` from PATH is
 * used only when there is a display (DISPLAY or WAYLAND_DISPLAY): on a
 * bare terminal our own prompt does as well, without a program between.
 *
 * MUST rules (tty.c's): the passphrase goes from the socket byte by byte
 * into a vault_secret, decoded in place; no stdio, no copy on the stack.
 * Lines that are not D lines are status and carry nothing secret.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "common.h"

/* Assuan: a line is at most 1000 bytes, the newline included. */
#define LINE_MAX_ASSUAN 1000
/* gpg-error's GPG_ERR_CANCELED in the pinentry source: what a "Cancel" button sends. */
#define ASSUAN_CANCELLED 83886179UL

/* Whether a command name names a program we can run (a path, or in PATH). */
static int
findable(const char *prog, char *out, size_t outlen)
{
	const char *path = getenv("PATH"), *p, *e;

	if (strchr(prog, '/') != NULL) {
		snprintf(out, outlen, "%s", prog);
		return access(prog, X_OK) == 0;
	}
	if (path == NULL || *path == '\0')
		path = "/usr/bin:/bin";
	for (p = path; *p != '\0'; p = *e ? e + 1 : e) {
		struct stat st;

		e = strchrnul(p, ':');
		if (e == p)
			continue;
		if ((size_t)snprintf(out, outlen, "%.*s/%s", (int)(e - p), p, prog) >= outlen)
			continue;
		if (stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0)
			return 1;
	}
	return 0;
}

int
cli_pinentry_program(char *out, size_t outlen)
{
	const char *v = getenv("VAULT_PINENTRY");
	const char *d = getenv("DISPLAY"), *w = getenv("WAYLAND_DISPLAY");
	int display = (d != NULL && *d != '\0') || (w != NULL && *w != '\0');
	const struct vault_config *conf;

	/* The environment wins over the config file's `pinentry = PROGRAM`. */
	if ((v == NULL || *v == '\0') && cli_config(&conf) == 0)
		v = config_get(conf, CONF_PINENTRY);

	if (v != NULL && *v != '\0') {
		if (strcmp(v, "none") == 0)
			return 0;
		/* Chosen by the user: with a display or a terminal for it to ask on. */
		if (!display && !cli_can_prompt())
			return 0;
		if (!findable(v, out, outlen))
			return -1;
		return 1;
	}
	return display && findable("pinentry", out, outlen) ? 1 : 0;
}

/* Writes one command line; the caller escaped its argument. */
static int
send_line(int fd, const char *s)
{
	size_t n = strlen(s), off = 0;

	while (off < n) {
		ssize_t w = send(fd, s + off, n - off, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return VAULT_ERR_IO;
		off += (size_t)w;
	}
	return 0;
}

static int
read_byte(int fd, unsigned char *c)
{
	for (;;) {
		ssize_t n = read(fd, c, 1);

		if (n == 1)
			return 0;
		if (n < 0 && errno == EINTR)
			continue;
		return VAULT_ERR_IO;
	}
}

static int
hexval(unsigned char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/*
 * Reads one response line. A "D " line is decoded straight into pin
 * (appended: Assuan may split data over lines); anything else lands in
 * line (NUL-terminated, truncated). Returns 0, or an error.
 */
static int
read_response(int fd, char *line, size_t linelen, vault_secret *pin, int *is_data)
{
	unsigned char c, h[2];
	size_t n = 0, total = 0;
	int rc;

	*is_data = 0;
	line[0] = '\0';
	/* The first two bytes tell a data line from the rest. */
	for (;;) {
		if ((rc = read_byte(fd, &c)) != 0)
			return rc;
		if (++total > LINE_MAX_ASSUAN)
			return VAULT_ERR_PROTO;
		if (n == 1 && line[0] == 'D' && c == ' ' && pin != NULL) {
			*is_data = 1;
			break;
		}
		if (c == '\n') {
			line[n < linelen ? n : linelen - 1] = '\0';
			return 0;
		}
		if (n + 1 < linelen)
			line[n] = (char)c;
		n++;
		if (n < linelen)
			line[n] = '\0';
	}
	for (;;) {
		if ((rc = read_byte(fd, &c)) != 0)
			goto fail;
		if (++total > LINE_MAX_ASSUAN) {
			rc = VAULT_ERR_PROTO;
			goto fail;
		}
		if (c == '\n')
			break;
		if (c == '%') {
			int hi, lo;

			if ((rc = read_byte(fd, &h[0])) != 0 || (rc = read_byte(fd, &h[1])) != 0)
				goto fail;
			total += 2;
			if ((hi = hexval(h[0])) < 0 || (lo = hexval(h[1])) < 0) {
				rc = VAULT_ERR_PROTO;
				goto fail;
			}
			c = (unsigned char)(hi << 4 | lo);
			h[0] = h[1] = 0;
		}
		if (pin->len == pin->cap) {
			rc = VAULT_ERR_TOOBIG;
			goto fail;
		}
		pin->buf[pin->len++] = c;
	}
	c = 0;
	return 0;
fail:
	c = 0;
	sodium_memzero(h, sizeof(h));
	return rc;
}

/*
 * Reads responses up to OK or ERR. Returns 0 on OK; on ERR, the error's
 * number in *err_code and VAULT_ERR_INVAL. Comments (#) and status (S)
 * lines are skipped; D lines only where pin is given.
 */
static int
wait_ok(int fd, vault_secret *pin, unsigned long *err_code, char *errtext, size_t errlen)
{
	char line[LINE_MAX_ASSUAN + 1];
	int rc, data;

	*err_code = 0;
	for (;;) {
		if ((rc = read_response(fd, line, sizeof(line), pin, &data)) != 0)
			return rc;
		if (data || line[0] == '#' || (line[0] == 'S' && (line[1] == ' ' || line[1] == '\0')))
			continue;
		if (strcmp(line, "OK") == 0 || strncmp(line, "OK ", 3) == 0)
			return 0;
		if (strncmp(line, "ERR", 3) == 0) {
			char *end;

			*err_code = strtoul(line + 3, &end, 10);
			while (*end == ' ')
				end++;
			snprintf(errtext, errlen, "%s", cli_esc(end));
			return VAULT_ERR_INVAL;
		}
		return VAULT_ERR_PROTO;
	}
}

/* Appends s to a command line, percent-escaping what Assuan requires. */
static void
put_escaped(char *line, size_t len, const char *s)
{
	size_t n = strlen(line);

	for (; *s != '\0' && n + 4 < len; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '%' || c < 0x20)
			n += (size_t)snprintf(line + n, len - n, "%%%02X", c);
		else
			line[n++] = (char)c;
	}
	line[n] = '\0';
}

/* Sends "VERB argument" and waits for its OK. */
static int
command(int fd, const char *verb, const char *arg, char *errtext, size_t errlen)
{
	char line[LINE_MAX_ASSUAN];
	unsigned long code;

	snprintf(line, sizeof(line), "%s ", verb);
	put_escaped(line, sizeof(line) - 1, arg);
	strcat(line, "\n");
	if (send_line(fd, line) != 0)
		return VAULT_ERR_IO;
	return wait_ok(fd, NULL, &code, errtext, errlen);
}

int
cli_pinentry_read(vault_secret **out, const char *prog, const char *desc, const char *prompt,
    const char *error)
{
	const char *term = getenv("TERM");
	char why[300] = "", tty[256];
	vault_secret *pin = NULL;
	unsigned long code = 0;
	int sv[2], rc, status;
	pid_t pid;

	*out = NULL;
	if ((rc = vault_secret_new(&pin, VAULT_PASSPHRASE_MAX)) != 0)
		return rc;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		vault_secret_free(&pin);
		cli_fail(VAULT_ERR_IO, "pinentry: socketpair: %s", strerror(errno));
		return VAULT_ERR_IO;
	}
	if ((pid = fork()) < 0) {
		close(sv[0]);
		close(sv[1]);
		vault_secret_free(&pin);
		cli_fail(VAULT_ERR_IO, "pinentry: fork: %s", strerror(errno));
		return VAULT_ERR_IO;
	}
	if (pid == 0) {
		/* Its stderr stays ours (it may explain a failure); stdin and stdout are the protocol. */
		if (dup2(sv[1], STDIN_FILENO) < 0 || dup2(sv[1], STDOUT_FILENO) < 0)
			_exit(127);
		signal(SIGPIPE, SIG_DFL);
		execl(prog, prog, (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	rc = wait_ok(sv[0], NULL, &code, why, sizeof(why)); /* the greeting */
	/* A terminal for a curses or tty pinentry to ask on: ours. */
	if (rc == 0 && ttyname_r(STDIN_FILENO, tty, sizeof(tty)) != 0 && ttyname_r(STDERR_FILENO, tty, sizeof(tty)) != 0)
		tty[0] = '\0';
	if (rc == 0 && tty[0] == '\0' && cli_can_prompt())
		snprintf(tty, sizeof(tty), "/dev/tty");
	if (rc == 0 && tty[0] != '\0') {
		char opt[sizeof(tty) + 16];

		snprintf(opt, sizeof(opt), "ttyname=%s", tty);
		rc = command(sv[0], "OPTION", opt, why, sizeof(why));
		if (rc == 0 && term != NULL && *term != '\0' && strlen(term) < 64) {
			snprintf(opt, sizeof(opt), "ttytype=%s", term);
			rc = command(sv[0], "OPTION", opt, why, sizeof(why));
		}
	}
	if (rc == 0)
		rc = command(sv[0], "SETTITLE", "vault", why, sizeof(why));
	if (rc == 0 && desc != NULL)
		rc = command(sv[0], "SETDESC", desc, why, sizeof(why));
	if (rc == 0)
		rc = command(sv[0], "SETPROMPT", prompt, why, sizeof(why));
	if (rc == 0 && error != NULL)
		rc = command(sv[0], "SETERROR", error, why, sizeof(why));
	if (rc == 0 && (rc = send_line(sv[0], "GETPIN\n")) == 0)
		rc = wait_ok(sv[0], pin, &code, why, sizeof(why));
	(void)send_line(sv[0], "BYE\n");
	close(sv[0]);
	/* It may linger a moment after BYE; nothing of ours is left with it. */
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (rc == VAULT_ERR_INVAL && (code & 0xffffUL) == (ASSUAN_CANCELLED & 0xffffUL)) {
		vault_secret_free(&pin);
		cli_fail(VAULT_ERR_INVAL, "the passphrase prompt was cancelled");
		return CLI_ERR_CANCELLED;
	}
	if (rc != 0) {
		vault_secret_free(&pin);
		if (rc == VAULT_ERR_INVAL)
			cli_fail(rc, "pinentry %s refused: %s (error %lu)", prog, why[0] ? why : "no reason given", code);
		else if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
			cli_fail(rc = VAULT_ERR_NOTFOUND, "pinentry %s could not be run", prog);
		else
			cli_fail(rc, "pinentry %s: %s", prog,
			    rc == VAULT_ERR_PROTO  ? "it does not speak the Assuan protocol as expected" :
			    rc == VAULT_ERR_TOOBIG ? "the passphrase is too long" :
						     "it ended before answering");
		return rc;
	}
	*out = pin;
	return 0;
}

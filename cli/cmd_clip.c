/* SPDX-License-Identifier: ISC */
/*
 * cmd_clip.c - `vault clip NAME [--timeout DURATION]`: the password on
 * the clipboard for a while, as pass does.
 *
 * MUST rules, each for a reason:
 *  - the release is `vault get`'s (cli_get_release: the same request to
 *    the agent, so the same policy and the same audit record);
 *  - the password reaches the clipboard tool (wl-copy, else xclip, else
 *    xsel) on its standard input, never in argv, where ps shows it;
 *  - the clipboard tool is chosen, and the display checked, before the
 *    release: nothing is released that cannot be put anywhere;
 *  - the timer is a detached child (setsid, stdio on /dev/null) that
 *    keeps no copy of the password: only a BLAKE2b hash of it under a
 *    random key made for this one clip. At the timeout it reads the
 *    clipboard back through the same tool, hashes that under the same
 *    key and compares the hashes with sodium_memcmp (constant time); it
 *    clears the clipboard only if they match, so something the user
 *    copied meanwhile is left alone;
 *  - every buffer that held the password or the clipboard's contents is
 *    secure memory, wiped on every path.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "cmds.h"
#include "common.h"

static int cmd_clip(int argc, char **argv);

#define CLIP_DEFAULT 45U      /* seconds, as pass */
#define CLIP_MAX 86400U       /* a day: longer is a password left lying about */
#define CLIP_READ_MAX 65536U  /* more than any stored password: a clipboard this big is not ours */

const struct cli_cmd cli_cmd_clip = { "clip", cmd_clip, "clip NAME [--timeout DURATION]",
	"Put the account's password on the clipboard, and clear it after DURATION\n"
	"(default 45s; 90, 15m, 1h...) if the clipboard still holds that password:\n"
	"anything copied meanwhile is left alone. It is a release like 'vault get':\n"
	"the same policy (use=actions accounts are refused) and the same audit record.\n"
	"The password goes to wl-copy (Wayland, $WAYLAND_DISPLAY), else xclip, else\n"
	"xsel ($DISPLAY) on standard input, never as an argument. A detached process\n"
	"waits for the timeout; it keeps only a keyed hash of the password.\n"
	"Example: vault clip dbadmin --timeout 20s" };

/* A clipboard tool: what copies, what reads back, what clears. */
struct clip_tool {
	const char *display; /* the variable that says a display of its kind is there */
	const char *const copy[5];
	const char *const paste[5];
	const char *const clear[5]; /* run with empty stdin */
};

static const struct clip_tool tools[] = {
	{ "WAYLAND_DISPLAY", { "wl-copy", NULL }, { "wl-paste", "--no-newline", NULL }, { "wl-copy", "--clear", NULL } },
	{ "DISPLAY", { "xclip", "-selection", "clipboard", "-in", NULL },
	    { "xclip", "-selection", "clipboard", "-out", NULL },
	    { "xclip", "-selection", "clipboard", "-in", NULL } },
	{ "DISPLAY", { "xsel", "--clipboard", "--input", NULL }, { "xsel", "--clipboard", "--output", NULL },
	    { "xsel", "--clipboard", "--delete", NULL } },
};

/*
 * Finds prog in the absolute directories of $PATH (relative ones are
 * skipped: the current directory is nobody's choice of clipboard tool)
 * and writes its path to file. 1 if found.
 */
static int
find_in_path(const char *prog, char file[4096])
{
	const char *path = getenv("PATH"), *p, *end;
	struct stat st;

	if (path == NULL || *path == '\0')
		path = SAFE_PATH;
	for (p = path; *p != '\0'; p = *end ? end + 1 : end) {
		end = strchr(p, ':');
		if (end == NULL)
			end = p + strlen(p);
		if (end == p || *p != '/') /* an empty or relative entry: not trusted for this */
			continue;
		if ((size_t)snprintf(file, 4096, "%.*s/%s", (int)(end - p), p, prog) >= 4096)
			continue;
		if (stat(file, &st) == 0 && S_ISREG(st.st_mode) && access(file, X_OK) == 0)
			return 1;
	}
	return 0;
}

/*
 * Picks the tool for the display there is; NULL after printing why there
 * is none (no display, or no tool for it).
 */
static const struct clip_tool *
pick_tool(void)
{
	const char *wl = getenv("WAYLAND_DISPLAY"), *x = getenv("DISPLAY");
	size_t i;

	if ((wl == NULL || *wl == '\0') && (x == NULL || *x == '\0')) {
		cli_fail(VAULT_ERR_IO, "clip: no display ($WAYLAND_DISPLAY and $DISPLAY are unset); "
					     "use 'vault get NAME' instead");
		return NULL;
	}
	for (i = 0; i < sizeof(tools) / sizeof(tools[0]); i++) {
		const char *d = getenv(tools[i].display);
		char file[4096];

		if (d != NULL && *d != '\0' && find_in_path(tools[i].copy[0], file) &&
		    find_in_path(tools[i].paste[0], file))
			return &tools[i];
	}
	cli_fail(VAULT_ERR_IO, "clip: no clipboard tool in PATH: install wl-clipboard (Wayland), "
				     "xclip or xsel (X11)");
	return NULL;
}

/*
 * Runs argv with in (n bytes) on its standard input and, if out is
 * given, its standard output read into out (up to its capacity; *over is
 * set if there was more). stderr and, without out, stdout go to
 * /dev/null: xclip and wl-copy fork a server that keeps them open, and
 * a caller reading our output through a pipe would wait for it. Returns
 * 0 if the program exited 0.
 */
static int
run_tool(const char *const *argv, const unsigned char *in, size_t n, vault_secret *out, int *over)
{
	int inp[2] = { -1, -1 }, outp[2] = { -1, -1 }, null, st, rc = -1;
	unsigned char sink[256];
	char file[4096];
	pid_t pid;
	ssize_t r;

	if (!find_in_path(argv[0], file))
		return -1;
	if (pipe2(inp, O_CLOEXEC) != 0)
		return -1;
	if (out != NULL && pipe2(outp, O_CLOEXEC) != 0)
		goto out;
	if ((pid = fork()) < 0)
		goto out;
	if (pid == 0) {
		null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null < 0 || dup2(inp[0], 0) < 0 || dup2(out != NULL ? outp[1] : null, 1) < 0 || dup2(null, 2) < 0)
			_exit(127);
		/* xclip and wl-copy live on as servers: they get nothing of ours beyond 0-2. */
		(void)syscall(SYS_close_range, 3U, ~0U, 0U);
		{
			/* execv's type predates const; it does not write the strings. */
			union {
				const char *const *c;
				char *const *m;
			} av = { .c = argv };

			execv(file, av.m);
		}
		_exit(127);
	}
	close(inp[0]);
	inp[0] = -1;
	if (out != NULL) {
		close(outp[1]);
		outp[1] = -1;
	}
	/* A tool that exits early makes this EPIPE (SIGPIPE is ignored), not a kill. */
	rc = n > 0 && write_all(inp[1], in, n) != 0 ? -1 : 0;
	close(inp[1]);
	inp[1] = -1;
	if (out != NULL) {
		out->len = 0;
		*over = 0;
		for (;;) {
			if (out->len < out->cap)
				r = read(outp[0], out->buf + out->len, out->cap - out->len);
			else
				r = read(outp[0], sink, sizeof(sink));
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			if (out->len < out->cap)
				out->len += (size_t)r;
			else
				*over = 1;
		}
		sodium_memzero(sink, sizeof(sink));
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR) {
			rc = -1;
			goto out;
		}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		rc = -1;
out:
	if (inp[0] >= 0)
		close(inp[0]);
	if (inp[1] >= 0)
		close(inp[1]);
	if (outp[0] >= 0)
		close(outp[0]);
	if (outp[1] >= 0)
		close(outp[1]);
	return rc;
}

/*
 * The detached timer: waits secs, then clears the clipboard if it still
 * holds the password whose keyed hash is h. Never returns.
 */
static void __attribute__((noreturn))
clear_later(const struct clip_tool *t, uint32_t secs, const unsigned char key[crypto_generichash_KEYBYTES],
    const unsigned char h[crypto_generichash_BYTES])
{
	struct timespec left = { (time_t)secs, 0 };
	unsigned char h2[crypto_generichash_BYTES];
	vault_secret *back = NULL;
	int null, over = 0, same;

	(void)setsid();
	(void)syscall(SYS_close_range, 3U, ~0U, 0U);
	if (chdir("/") != 0)
		_exit(1);
	if ((null = open("/dev/null", O_RDWR)) >= 0) {
		(void)dup2(null, 0);
		(void)dup2(null, 1);
		(void)dup2(null, 2);
		if (null > 2)
			close(null);
	}
	while (nanosleep(&left, &left) != 0 && errno == EINTR)
		;
	if (vault_secret_new(&back, CLIP_READ_MAX) != 0 || run_tool(t->paste, NULL, 0, back, &over) != 0)
		_exit(1);
	crypto_generichash(h2, sizeof(h2), back->buf, back->len, key, crypto_generichash_KEYBYTES);
	vault_secret_free(&back);
	same = !over && sodium_memcmp(h, h2, sizeof(h2)) == 0;
	sodium_memzero(h2, sizeof(h2));
	if (same && run_tool(t->clear, NULL, 0, NULL, NULL) != 0)
		_exit(1);
	_exit(0);
}

static int
cmd_clip(int argc, char **argv)
{
	static const struct option lo[] = { COMMON_OPTS, { "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ NULL, 0, NULL, 0 } };
	struct cli_opts o = cli_defaults;
	const struct clip_tool *t;
	struct session s;
	unsigned char key[crypto_generichash_KEYBYTES], h[crypto_generichash_BYTES];
	const unsigned char *sec;
	size_t seclen;
	vault_wr resp;
	uint64_t secs = CLIP_DEFAULT;
	pid_t pid;
	int c, ret;

	while ((c = cli_getopt(argc, argv, "h", lo, &cli_cmd_clip)) != -1) {
		if (c == 'h')
			return cli_show_help(&cli_cmd_clip);
		if (c == OPT_TIMEOUT) {
			if (parse_duration(optarg, 1, CLIP_MAX, &secs) != 0 || secs == 0)
				return cli_usage("--timeout: expected a duration from 1s to 1d (45, 90s, 2m), not '%s'",
				    optarg);
		} else if (!cli_common_opt(c, &o)) {
			return cli_bad_option(&cli_cmd_clip);
		}
	}
	if (argc - optind != 1)
		return cli_bad_option(&cli_cmd_clip);
	if (vault_name_check(argv[optind]) != 0)
		return cli_usage("invalid account name");
	if ((t = pick_tool()) == NULL)
		return VAULT_EXIT_ERROR;
	(void)signal(SIGPIPE, SIG_IGN);
	if ((ret = session_open(&s, &o, 1)) != 0) {
		session_close(&s);
		return ret;
	}
	vault_wr_init(&resp, 1, 0);
	if ((ret = cli_get_release(&s, argv[optind], 0, &resp, &sec, &seclen)) != 0)
		goto out;
	if (run_tool(t->copy, sec, seclen, NULL, NULL) != 0) {
		ret = cli_fail(VAULT_ERR_IO, "clip: %s failed; the password was released but is not on the clipboard",
		    t->copy[0]);
		goto out;
	}
	randombytes_buf(key, sizeof(key));
	crypto_generichash(h, sizeof(h), sec, seclen, key, sizeof(key));
	/* Nothing of the password, and no agent connection, goes into the timer. */
	vault_wr_free(&resp);
	session_close(&s);
	if ((pid = fork()) < 0) {
		ret = cli_fail(VAULT_ERR_IO, "clip: cannot start the timer (%s): the password stays on the clipboard",
		    strerror(errno));
	} else if (pid == 0) {
		clear_later(t, (uint32_t)secs, key, h);
	} else {
		printf("copied the password of %s to the clipboard (%s); cleared in %us if it is still there\n",
		    cli_esc(argv[optind]), t->copy[0], (unsigned)secs);
	}
	sodium_memzero(key, sizeof(key));
	sodium_memzero(h, sizeof(h));
	return ret;
out:
	vault_wr_free(&resp);
	session_close(&s);
	return ret;
}

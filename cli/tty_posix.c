/* SPDX-License-Identifier: ISC */
/*
 * tty_posix.c - the terminal on POSIX (tty.h): the passphrase prompt on
 * /dev/tty with echo off, a line said there, whether there is one, and
 * VAULT_PASSPHRASE_COMMAND through /bin/sh. tty_win32.c is Windows's.
 * The MUST rules are tty.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"
#include "common.h"
#include "tty.h"

static struct termios tty_saved;

static void
on_signal(int sig)
{
	cli_tty_signal = sig;
}

int
cli_tty_read(vault_secret **out, const char *prompt)
{
	struct sigaction sa, old_int, old_term, old_hup, old_quit;
	struct termios t;
	int fd, rc, sig;

	*out = NULL;
	fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return CLI_ERR_NOTTY;
	if (tcgetattr(fd, &tty_saved) != 0) {
		close(fd);
		return CLI_ERR_NOTTY;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	cli_tty_signal = 0;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	sigaction(SIGHUP, &sa, &old_hup);
	sigaction(SIGQUIT, &sa, &old_quit);
	t = tty_saved;
	t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	t.c_lflag |= ICANON;
	(void)tcsetattr(fd, TCSAFLUSH, &t);
	(void)!write(fd, prompt, strlen(prompt));
	rc = cli_read_line_fd(fd, out);
	(void)tcsetattr(fd, TCSAFLUSH, &tty_saved);
	(void)!write(fd, "\n", 1);
	close(fd);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGHUP, &old_hup, NULL);
	sigaction(SIGQUIT, &old_quit, NULL);
	if ((sig = cli_tty_signal) != 0) {
		vault_secret_free(out);
		raise(sig); /* now with the caller's disposition, echo restored */
		return VAULT_ERR_INVAL;
	}
	return rc;
}

void
cli_tty_say(const char *line)
{
	int fd = open("/dev/tty", O_WRONLY | O_NOCTTY | O_CLOEXEC);

	if (fd >= 0) {
		(void)!write(fd, line, strlen(line));
		(void)!write(fd, "\n", 1);
		close(fd);
	}
}

int
cli_can_prompt(void)
{
	int fd;

	if ((fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0)
		return 0;
	close(fd);
	return 1;
}

/*
 * VAULT_PASSPHRASE_COMMAND: runs it with /bin/sh and takes the first line
 * it prints (borg's BORG_PASSCOMMAND, restic's --password-command). Its
 * stdin and stderr are ours, so it may ask on the terminal itself; it
 * learns what is asked in VAULT_PASSPHRASE_PROMPT. A status other than 0
 * is a failure, whatever it printed.
 */
int
cli_passphrase_command(vault_secret **out, const char *cmd, const char *prompt, int *status)
{
	unsigned char junk[256];
	int p[2], rc, st;
	pid_t pid;
	ssize_t n;

	*status = -1;
	if (pipe2(p, O_CLOEXEC) != 0)
		return VAULT_ERR_IO;
	if ((pid = fork()) < 0) {
		close(p[0]);
		close(p[1]);
		return VAULT_ERR_IO;
	}
	if (pid == 0) {
		if (dup2(p[1], STDOUT_FILENO) < 0)
			_exit(127);
		(void)setenv("VAULT_PASSPHRASE_PROMPT", prompt, 1);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	rc = cli_read_line_fd(p[0], out);
	/* Whatever else it prints is read (so it does not block) and wiped. */
	while ((n = read(p[0], junk, sizeof(junk))) > 0 || (n < 0 && errno == EINTR))
		;
	sodium_memzero(junk, sizeof(junk));
	close(p[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	*status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	if (rc == 0 && *status != 0) {
		vault_secret_free(out);
		rc = VAULT_ERR_INVAL;
	}
	return rc;
}

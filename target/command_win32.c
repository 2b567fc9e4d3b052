/* SPDX-License-Identifier: ISC */
/*
 * command_win32.c - the `command:` rotation target's runner on Windows
 * (command_win32.h): the account's command run by cmd.exe, as the caller
 * (the agent's or vault-direct's user), the Windows counterpart of
 * target.c's /bin/sh -c.
 *
 * MUST rules (target.c's, in Win32 terms):
 *  - passwords go only down an anonymous pipe to the child's stdin, written
 *    straight from the vault_secret (no copy of ours to wipe): never the
 *    command line, never the environment; our write end is closed before
 *    we wait;
 *  - cmd.exe is named by its full path under GetSystemDirectoryW, never
 *    found through PATH or %ComSpec%, and runs with /d (no AutoRun from
 *    the registry);
 *  - the child gets a minimal environment built here (system paths from
 *    GetSystemDirectoryW and GetSystemWindowsDirectoryW, the caller's
 *    profile and temporary directories, VAULT_ROTATE_*), and inherits only
 *    the two handles it needs, its stdin and one for its stdout and stderr
 *    (PROC_THREAD_ATTRIBUTE_HANDLE_LIST), made inheritable only while it
 *    is created;
 *  - its stdout and stderr go to our stderr (or NUL), so `--json` output
 *    stays clean;
 *  - it starts suspended inside a job object and only then runs, so every
 *    process it starts is in the job: the timeout (VAULT_ROTATE_TIMEOUT)
 *    ends them all, and so does the end of the command itself (the job is
 *    closed with JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE). Unlike /bin/sh's
 *    process group on Linux, nothing the command leaves running outlives it.
 *
 * The passwords are written before we wait, into a pipe created with a 64
 * KiB buffer: two passwords of at most VAULT_SECRET_MAX bytes each always
 * fit, so a command that never reads cannot block the write, and the
 * timeout still applies.
 *
 * Under wine 8 (vault_win32.sh cases 12-16): the job object works (a
 * timed-out command's grandchild dies with it); the handle list is accepted
 * but not enforced (a probe child saw an unlisted inheritable handle of
 * ours), so there what keeps other handles ours is that vault makes none
 * inheritable, and vault_win_spawn's lock keeps two commands' pipes apart; wine adds
 * its own WINE* variables to every environment. A batch file cannot read
 * the two lines with two `set /p` from a pipe (Windows reads a block and
 * keeps one line; wine keeps the block): `for /f` over `more` (or
 * `findstr "^"` on Windows) reads them.
 */
#include <windows.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "command_win32.h"
#include "common.h"
#include "winrun_win32.h"

#define PIPE_BYTES 65536U
/* The code TerminateJobObject gives a timed-out command: >= 128, so never "nothing changed". */
#define KILLED_CODE ERROR_TIMEOUT
/* How long a killed job may take to be gone before we stop waiting for it. */
#define KILL_WAIT_MS 10000U

_Static_assert(2U * (VAULT_SECRET_MAX + 1U) < PIPE_BYTES,
    "two passwords must fit the pipe's buffer");

/*
 * The environment block (UTF-16, malloc'd; NULL when out of memory): the
 * system's own PATH, PATHEXT, ComSpec, SystemRoot, windir, SystemDrive
 * and shared folders (vault_win_sys_env, as a run's), our TEMP, TMP and
 * profile (the command runs as us), and VAULT_ROTATE_*; sorted as
 * CreateProcessW wants (vault_win_env_block).
 */
static wchar_t *
env_block(const vault_account *a)
{
	static const char *const keep[] = { "TEMP", "TMP", "USERPROFILE", "USERNAME", "USERDOMAIN",
		"APPDATA", "LOCALAPPDATA", NULL };
	const char *const fields[] = { "VAULT_ROTATE_ACCOUNT", a != NULL ? a->name : NULL, "VAULT_ROTATE_USER",
		a != NULL ? a->user : NULL, "VAULT_ROTATE_DOMAIN", a != NULL ? a->domain : NULL, "VAULT_ROTATE_HOST",
		a != NULL ? a->host : NULL };
	char *list[32];
	wchar_t wname[32], *v, *block = NULL;
	size_t n = 0, i;
	DWORD len;

	if (vault_win_sys_env(list, sizeof(list) / sizeof(list[0])) != 0)
		return NULL;
	while (list[n] != NULL)
		n++;
	for (i = 0; keep[i] != NULL; i++) {
		/* Ours, unset or empty: left out. It can change between the calls: then too. */
		if (MultiByteToWideChar(CP_UTF8, 0, keep[i], -1, wname, 32) <= 0 ||
		    (len = GetEnvironmentVariableW(wname, NULL, 0)) <= 1 || (v = calloc(len, sizeof(*v))) == NULL)
			continue;
		if (GetEnvironmentVariableW(wname, v, len) == len - 1)
			(void)vault_win_env_put(list, &n, sizeof(list) / sizeof(list[0]), keep[i], v);
		free(v);
	}
	/* An account field that is not UTF-8 is left out, not mangled. */
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i += 2) {
		char *kv;

		if (fields[i + 1] == NULL || fields[i + 1][0] == '\0' ||
		    !vault_win_utf8_valid(fields[i + 1], strlen(fields[i + 1])) || n + 2 > sizeof(list) / sizeof(list[0]))
			continue;
		if ((kv = malloc(strlen(fields[i]) + strlen(fields[i + 1]) + 2)) == NULL)
			goto out;
		sprintf(kv, "%s=%s", fields[i], fields[i + 1]);
		list[n++] = kv;
		list[n] = NULL;
	}
	block = vault_win_env_block((const char *const *)list);
out:
	vault_win_sys_env_free(list);
	return block;
}

/* Writes all of buf; 0, or -1 (the child went away, or another error: it is its own answer). */
static int
write_all_h(HANDLE h, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	DWORD n;

	while (len > 0) {
		DWORD chunk = len > 0x10000U ? 0x10000U : (DWORD)len;

		if (!WriteFile(h, p, chunk, &n, NULL) || n == 0)
			return -1; /* ERROR_NO_DATA, ERROR_BROKEN_PIPE: it exited without reading */
		p += n;
		len -= n;
	}
	return 0;
}

/* The handle for the child's stdout and stderr: a copy of our stderr, else NUL; not inheritable yet. */
static HANDLE
child_output(void)
{
	HANDLE err = GetStdHandle(STD_ERROR_HANDLE), dup = NULL;

	if (err != NULL && err != INVALID_HANDLE_VALUE &&
	    DuplicateHandle(GetCurrentProcess(), err, GetCurrentProcess(), &dup, 0, FALSE,
		DUPLICATE_SAME_ACCESS))
		return dup;
	dup = CreateFileW(L"NUL", GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
	    OPEN_EXISTING, 0, NULL);
	return dup == INVALID_HANDLE_VALUE ? NULL : dup;
}

static void
close_h(HANDLE *h)
{
	if (*h != NULL && *h != INVALID_HANDLE_VALUE)
		CloseHandle(*h);
	*h = NULL;
}

void
target_cmd_run(const char *cmd, const vault_account *a, const vault_secret *s1,
    const vault_secret *s2, unsigned timeout, int *how, uint32_t *code, char *why, size_t whylen)
{
	JOBOBJECT_EXTENDED_LIMIT_INFORMATION lim;
	PROCESS_INFORMATION pi = { NULL, NULL, 0, 0 };
	HANDLE in_rd = NULL, in_wr = NULL, out = NULL, job = NULL;
	wchar_t *cmdexe = NULL, *line = NULL, *env = NULL;
	DWORD w, exit_code;
	BOOL started;

	*how = TARGET_CMD_NOT_STARTED;
	*code = 0;
	if (whylen > 0)
		why[0] = '\0';
	if (timeout < 1 || timeout > 86400)
		timeout = TARGET_CMD_TIMEOUT_DEFAULT;
	/* Refused before anything runs: empty, a line break, not UTF-8, too long. */
	if (vault_win_cmd_line(cmd, &cmdexe, &line, why, whylen) != 0)
		goto out;
	if ((env = env_block(a)) == NULL)
		goto nomem;

	/* Neither end inheritable: the child's end becomes so only while it is created (vault_win_spawn). */
	if (!CreatePipe(&in_rd, &in_wr, NULL, PIPE_BYTES)) {
		snprintf(why, whylen, "CreatePipe: error %lu", (unsigned long)GetLastError());
		goto out;
	}
	if ((out = child_output()) == NULL) {
		snprintf(why, whylen, "no handle for the command's output (error %lu)",
		    (unsigned long)GetLastError());
		goto out;
	}
	/* Without the job, the timeout could not end what the command starts: refuse rather than run. */
	memset(&lim, 0, sizeof(lim));
	lim.BasicLimitInformation.LimitFlags =
	    JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE | JOB_OBJECT_LIMIT_DIE_ON_UNHANDLED_EXCEPTION;
	if ((job = CreateJobObjectW(NULL, NULL)) == NULL ||
	    !SetInformationJobObject(job, JobObjectExtendedLimitInformation, &lim, sizeof(lim))) {
		snprintf(why, whylen, "cannot create a job object (error %lu)",
		    (unsigned long)GetLastError());
		goto out;
	}
	/* Only in_rd and out are inherited, even if another thread has inheritable handles open. */
	started = vault_win_spawn(cmdexe, line, CREATE_SUSPENDED | CREATE_NO_WINDOW | CREATE_UNICODE_ENVIRONMENT, env,
	    in_rd, out, out, &pi);
	if (!started)
		snprintf(why, whylen, "cannot start cmd.exe (error %lu)", (unsigned long)GetLastError());
	/* The child has its copies (or none). */
	close_h(&in_rd);
	close_h(&out);
	if (!started) {
		pi.hProcess = pi.hThread = NULL;
		goto out;
	}
	/* Suspended: not one instruction of it has run, so ending it here changes nothing. */
	if (!AssignProcessToJobObject(job, pi.hProcess)) {
		snprintf(why, whylen, "cannot put the command in a job object (error %lu)",
		    (unsigned long)GetLastError());
		(void)TerminateProcess(pi.hProcess, KILLED_CODE);
		(void)WaitForSingleObject(pi.hProcess, KILL_WAIT_MS);
		goto out;
	}
	if (ResumeThread(pi.hThread) == (DWORD)-1) {
		snprintf(why, whylen, "cannot start the command's thread (error %lu)",
		    (unsigned long)GetLastError());
		(void)TerminateJobObject(job, KILLED_CODE);
		(void)WaitForSingleObject(pi.hProcess, KILL_WAIT_MS);
		goto out;
	}
	*how = TARGET_CMD_LOST; /* it runs: from here on nothing is "not started" */
	close_h(&pi.hThread);

	/* A command that exits without reading is its own answer: write errors are ignored. */
	if (s1 != NULL && write_all_h(in_wr, s1->buf, s1->len) == 0 &&
	    write_all_h(in_wr, "\n", 1) == 0 && s2 != NULL &&
	    write_all_h(in_wr, s2->buf, s2->len) == 0)
		(void)write_all_h(in_wr, "\n", 1);
	close_h(&in_wr);

	w = WaitForSingleObject(pi.hProcess, (DWORD)timeout * 1000U);
	if (w == WAIT_TIMEOUT) {
		(void)TerminateJobObject(job, KILLED_CODE);
		(void)WaitForSingleObject(pi.hProcess, KILL_WAIT_MS);
		*how = TARGET_CMD_TIMED_OUT;
		snprintf(why, whylen, "timed out after %u s and was killed", timeout);
		goto out;
	}
	if (w != WAIT_OBJECT_0) {
		snprintf(why, whylen, "WaitForSingleObject: error %lu",
		    (unsigned long)GetLastError());
		(void)TerminateJobObject(job, KILLED_CODE);
		goto out;
	}
	if (!GetExitCodeProcess(pi.hProcess, &exit_code)) {
		snprintf(why, whylen, "GetExitCodeProcess: error %lu",
		    (unsigned long)GetLastError());
		goto out;
	}
	*how = TARGET_CMD_EXITED;
	*code = exit_code;
	goto out;
nomem:
	snprintf(why, whylen, "out of memory");
out:
	/* Closing the job ends whatever the command left running (KILL_ON_JOB_CLOSE). */
	close_h(&in_wr);
	close_h(&in_rd);
	close_h(&out);
	close_h(&pi.hThread);
	close_h(&pi.hProcess);
	close_h(&job);
	free(env);
	free(line);
	free(cmdexe);
}

/* SPDX-License-Identifier: ISC */
/*
 * sys_win32.c - sys.h on Windows (issue 16, preview): the process set-up,
 * paths, the agent's named pipe, the start of vault-agent.exe (a detached
 * process, waited for until its pipe is there) and vault-direct.exe run
 * and waited for.
 */
#include <windows.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common.h"
#include "config.h"
#include "pipe.h"
#include "platform.h"
#include "sys.h"
#include "winrun.h"

#define START_WAIT_MS 10000U /* a cold wine takes seconds to start a process */

void
cli_sys_start(void)
{
	/* No "program has stopped working" dialog, no DLL from the current directory. */
	(void)SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX | SEM_NOOPENFILEERRORBOX);
	(void)SetDefaultDllDirectories(LOAD_LIBRARY_SEARCH_SYSTEM32);
}

void
cli_sys_nodump(void)
{
	/* Windows has no PR_SET_DUMPABLE: SECURITY.md says what that leaves. */
}

int
cli_sys_default_db(char **out)
{
	return vault_plat_default_path(out, 0);
}

int
cli_sys_abs_dir(const char *path, char **out)
{
	/* _fullpath resolves "." and ".." against the current directory; it follows no reparse point. */
	*out = _fullpath(NULL, path, 0);
	return *out == NULL ? VAULT_ERR_NOMEM : 0;
}

int
cli_sys_abs_file(const char *in, char *out, size_t size)
{
	vault_file_info fi;
	char dir[MAX_PATH * 3];
	const char *slash;
	size_t len = strlen(in);

	if (len == 0 || in[len - 1] == '\\' || in[len - 1] == '/' || strcmp(in, ".") == 0 || strcmp(in, "..") == 0)
		return VAULT_ERR_INVAL;
	if (_fullpath(out, in, size) == NULL)
		return VAULT_ERR_TOOBIG;
	if ((slash = strrchr(out, '\\')) == NULL || (size_t)(slash - out) + 2 > sizeof(dir))
		return VAULT_ERR_INVAL;
	/* The directory, "C:\\" for a file at a drive's root. */
	len = (size_t)(slash - out) + (slash - out == 2 ? 1 : 0);
	memcpy(dir, out, len);
	dir[len] = '\0';
	if (vault_plat_lstat(dir, &fi) != 0 || !fi.dir) {
		errno = ENOENT;
		return VAULT_ERR_NOTFOUND;
	}
	return 0;
}

int
cli_sys_realpath(const char *path, char *out, size_t outlen)
{
	vault_file_info fi;

	if (_fullpath(out, path, outlen) == NULL)
		return VAULT_ERR_NOTFOUND;
	if (vault_plat_lstat(out, &fi) != 0)
		return VAULT_ERR_NOTFOUND;
	return 0;
}

int
cli_sys_missing(const char *path)
{
	vault_file_info fi;

	return vault_plat_lstat(path, &fi) != 0 && errno == ENOENT;
}

int
cli_sys_agent_address(char **out)
{
	char name[VAULT_PIPE_NAME_MAX];
	const char *env = getenv("VAULT_AGENT_SOCK");

	*out = NULL;
	if (env != NULL && *env != '\0') {
		if (strncmp(env, "\\\\.\\pipe\\", 9) != 0) {
			fprintf(stderr, "vault: VAULT_AGENT_SOCK must name a pipe (\\\\.\\pipe\\NAME) on Windows\n");
			return VAULT_ERR_INVAL;
		}
		*out = strdup(env);
	} else {
		if (vault_pipe_default_name(name) != 0)
			return VAULT_ERR_IO;
		*out = strdup(name);
	}
	return *out == NULL ? VAULT_ERR_NOMEM : 0;
}

int
cli_sys_agent_gone(int fd)
{
	(void)fd;
	return 0; /* a hung-up pipe shows on the next call */
}

/* Our own directory, UTF-8, into out. */
static int
self_dir(char *out, size_t size)
{
	wchar_t w[MAX_PATH + 1];
	DWORD n = GetModuleFileNameW(NULL, w, MAX_PATH + 1);
	wchar_t *slash;

	if (n == 0 || n > MAX_PATH)
		return -1;
	if ((slash = wcsrchr(w, L'\\')) == NULL)
		return -1;
	*slash = L'\0';
	return WideCharToMultiByte(CP_UTF8, 0, w, -1, out, (int)size, NULL, NULL) > 0 ? 0 : -1;
}

static int
exists(const char *path)
{
	vault_file_info fi;

	return vault_plat_lstat(path, &fi) == 0 && fi.regular;
}

int
cli_sys_agent_program(char *out, size_t size)
{
	const char *env = getenv("VAULT_AGENT_PROGRAM");
	char dir[MAX_PATH * 3];

	if (env != NULL && *env != '\0')
		return snprintf(out, size, "%s", env) < (int)size ? 0 : VAULT_ERR_NOTFOUND;
	if (self_dir(dir, sizeof(dir)) != 0)
		return VAULT_ERR_NOTFOUND;
	/* Installed side by side; in a build tree, cli\ and agent\ are siblings. */
	if (snprintf(out, size, "%s\\vault-agent.exe", dir) < (int)size && exists(out))
		return 0;
	if (snprintf(out, size, "%s\\..\\agent\\vault-agent.exe", dir) < (int)size && exists(out)) {
		/* Without "..": the agent's image path, which the peer check compares, has none. */
		char rel[MAX_PATH * 3];

		snprintf(rel, sizeof(rel), "%s", out);
		return _fullpath(out, rel, size) != NULL ? 0 : VAULT_ERR_NOTFOUND;
	}
	return VAULT_ERR_NOTFOUND;
}

static wchar_t *
wide(const char *s)
{
	int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, NULL, 0);
	wchar_t *w;

	if (n <= 0 || (w = malloc((size_t)n * sizeof(*w))) == NULL)
		return NULL;
	if (MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, w, n) != n) {
		free(w);
		return NULL;
	}
	return w;
}

int
cli_sys_start_agent(const char *prog, const char *db, const char *address, char *err, size_t errlen)
{
	STARTUPINFOW si;
	PROCESS_INFORMATION pi;
	wchar_t *wprog = NULL, *wcmd = NULL, *wpipe = NULL;
	char *cmd = NULL;
	size_t len;
	DWORD code = 0;
	ULONGLONG until;
	int rc = VAULT_EXIT_ERROR;

	err[0] = '\0';
	/* No Windows path holds a '"': refusing one keeps the quoting trivial. */
	if (strchr(prog, '"') != NULL || strchr(db, '"') != NULL || strchr(address, '"') != NULL)
		return cli_fail(VAULT_ERR_INVAL, "cannot start an agent: a path holds a '\"'");
	len = strlen(prog) + strlen(db) + strlen(address) + 32;
	if ((cmd = malloc(len)) == NULL)
		return cli_fail(VAULT_ERR_NOMEM, "out of memory");
	snprintf(cmd, len, "\"%s\" --db \"%s\" --pipe \"%s\"", prog, db, address);
	wprog = wide(prog);
	wcmd = wide(cmd);
	wpipe = wide(address);
	if (wprog == NULL || wcmd == NULL || wpipe == NULL) {
		rc = cli_fail(VAULT_ERR_INVAL, "cannot start an agent: a path is not valid UTF-8");
		goto out;
	}
	memset(&si, 0, sizeof(si));
	si.cb = sizeof(si);
	memset(&pi, 0, sizeof(pi));
	/* Detached: no console of ours to close under it, nothing of ours inherited. */
	if (!CreateProcessW(wprog, wcmd, NULL, NULL, FALSE, DETACHED_PROCESS | CREATE_NEW_PROCESS_GROUP, NULL,
		NULL, &si, &pi)) {
		rc = cli_fail(VAULT_ERR_IO, "cannot start %s (error %lu)", prog, (unsigned long)GetLastError());
		goto out;
	}
	CloseHandle(pi.hThread);
	/* Until its pipe is there, or it has exited. */
	until = GetTickCount64() + START_WAIT_MS;
	for (;;) {
		if (WaitNamedPipeW(wpipe, 50)) {
			rc = 0;
			break;
		}
		if (WaitForSingleObject(pi.hProcess, 50) == WAIT_OBJECT_0) {
			(void)GetExitCodeProcess(pi.hProcess, &code);
			/* Lost a start race: another agent holds the pipe. Use it. */
			if (WaitNamedPipeW(wpipe, 0) || GetLastError() == ERROR_SEM_TIMEOUT)
				snprintf(err, errlen, "vault-agent: another agent already serves %s\n", address);
			else
				snprintf(err, errlen, "vault: %s exited with status %lu before it served; run it by "
						   "hand to see why\n", prog, (unsigned long)code);
			rc = code != 0 ? (int)code : VAULT_EXIT_ERROR;
			break;
		}
		if (GetTickCount64() >= until) {
			snprintf(err, errlen, "vault: %s did not create its pipe within %u s\n", prog,
			    START_WAIT_MS / 1000);
			rc = VAULT_EXIT_ERROR;
			break;
		}
	}
	CloseHandle(pi.hProcess);
out:
	free(cmd);
	free(wprog);
	free(wcmd);
	free(wpipe);
	return rc;
}

/*
 * vault-direct.exe beside us, run with our argv (quoted for
 * CommandLineToArgvW and the C runtime, vault_win_quote_argv), our
 * environment and our console, waited for; its exit code is ours. Windows
 * has no exec that keeps the process: the parent waits, as a shell would.
 */
void
cli_sys_exec_direct(char **argv)
{
	const char *env = getenv("VAULT_DIRECT_PROGRAM");
	char prog[MAX_PATH * 3], dir[MAX_PATH * 3], *cmd = NULL;
	wchar_t *wprog = NULL, *wcmd = NULL;
	STARTUPINFOW si;
	PROCESS_INFORMATION pi;
	DWORD code = VAULT_EXIT_ERROR;
	size_t argc = 0;
	int rc;

	(void)fflush(NULL);
	if (env != NULL && *env != '\0')
		snprintf(prog, sizeof(prog), "%s", env);
	else if (self_dir(dir, sizeof(dir)) != 0 ||
	    snprintf(prog, sizeof(prog), "%s\\vault-direct.exe", dir) >= (int)sizeof(prog))
		prog[0] = '\0';
	if (prog[0] == '\0' || !exists(prog)) {
		fprintf(stderr, "vault: cannot find vault-direct.exe%s%s, which this command needs "
				"(set VAULT_DIRECT_PROGRAM)\n", prog[0] != '\0' ? " at " : "", prog);
		exit(VAULT_EXIT_ERROR);
	}
	while (argv[argc] != NULL)
		argc++;
	if ((rc = vault_win_quote_argv(&cmd, NULL, (const char *const *)argv, NULL, argc,
		 VAULT_WIN_CMDLINE_MAX)) != 0) {
		fprintf(stderr, "vault: cannot pass these arguments to vault-direct.exe: %s\n", vault_strerror(rc));
		exit(rc == VAULT_ERR_TOOBIG || rc == VAULT_ERR_INVAL ? VAULT_EXIT_USAGE : VAULT_EXIT_ERROR);
	}
	if ((wprog = wide(prog)) == NULL || (wcmd = wide(cmd)) == NULL) {
		fprintf(stderr, "vault: out of memory\n");
		exit(VAULT_EXIT_ERROR);
	}
	memset(&si, 0, sizeof(si));
	si.cb = sizeof(si);
	memset(&pi, 0, sizeof(pi));
	/* Inheriting handles: the console and the standard handles, as exec keeps them. */
	if (!CreateProcessW(wprog, wcmd, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi)) {
		fprintf(stderr, "vault: cannot run %s (error %lu)\n", prog, (unsigned long)GetLastError());
		exit(VAULT_EXIT_ERROR);
	}
	CloseHandle(pi.hThread);
	/* Ctrl-C reaches both (one console); we wait for it to end as it decides. */
	(void)SetConsoleCtrlHandler(NULL, TRUE);
	if (WaitForSingleObject(pi.hProcess, INFINITE) != WAIT_OBJECT_0 || !GetExitCodeProcess(pi.hProcess, &code))
		code = VAULT_EXIT_ERROR;
	CloseHandle(pi.hProcess);
	free(cmd);
	free(wprog);
	free(wcmd);
	exit((int)code);
}

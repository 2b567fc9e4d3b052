/* SPDX-License-Identifier: ISC */
/*
 * passcmd_win32.c - VAULT_PASSPHRASE_COMMAND in the Windows build (tty.h,
 * cli_passphrase_command); tty_posix.c has Linux's. Apart from tty_win32.c
 * because it reads with tty.c's cli_read_line_fd, which the console
 * prompt's own test program (prompt_probe) does not link.
 */
#include <windows.h>

#include <fcntl.h>
#include <io.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cli.h"
#include "tty.h"
#include "winrun_win32.h"

/* A copy of our standard handle which (for a child), else the NUL device; NULL when neither. */
static HANDLE
std_copy(DWORD which, DWORD access)
{
	HANDLE h = GetStdHandle(which), dup = NULL;

	if (h != NULL && h != INVALID_HANDLE_VALUE &&
	    DuplicateHandle(GetCurrentProcess(), h, GetCurrentProcess(), &dup, 0, FALSE, DUPLICATE_SAME_ACCESS))
		return dup;
	dup = CreateFileW(L"NUL", access, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING, 0, NULL);
	return dup == INVALID_HANDLE_VALUE ? NULL : dup;
}

/*
 * VAULT_PASSPHRASE_COMMAND: runs it with cmd.exe /d /s /c (from the
 * system directory: vault_win_cmd_line) and takes the first line it prints,
 * as tty_posix.c does with /bin/sh. Its stdin and stderr are ours, so it may
 * ask on the console itself; it learns what is asked in
 * VAULT_PASSPHRASE_PROMPT (set in our environment, which it inherits: this
 * process asks once and exits). Nothing but its three standard handles is
 * inherited (vault_win_spawn). A status other than 0 is a failure,
 * whatever it printed.
 */
int
cli_passphrase_command(vault_secret **out, const char *cmd, const char *prompt, int *status)
{
	PROCESS_INFORMATION pi = { NULL, NULL, 0, 0 };
	HANDLE rd = NULL, wr = NULL, in = NULL, err = NULL;
	wchar_t *exe = NULL, *line = NULL, *wprompt = NULL;
	unsigned char junk[256];
	char why[160];
	DWORD code;
	int fd = -1, rc = VAULT_ERR_IO, n, len;

	*out = NULL;
	*status = -1;
	if (vault_win_cmd_line(cmd, &exe, &line, why, sizeof(why)) != 0) {
		*status = 127;
		return VAULT_ERR_INVAL;
	}
	if ((len = MultiByteToWideChar(CP_UTF8, 0, prompt, -1, NULL, 0)) > 0 &&
	    (wprompt = calloc((size_t)len, sizeof(*wprompt))) != NULL &&
	    MultiByteToWideChar(CP_UTF8, 0, prompt, -1, wprompt, len) == len)
		(void)SetEnvironmentVariableW(L"VAULT_PASSPHRASE_PROMPT", wprompt);
	if (!CreatePipe(&rd, &wr, NULL, 0) || (in = std_copy(STD_INPUT_HANDLE, GENERIC_READ)) == NULL ||
	    (err = std_copy(STD_ERROR_HANDLE, GENERIC_WRITE)) == NULL)
		goto out;
	if (!vault_win_spawn(exe, line, CREATE_NO_WINDOW, NULL, in, wr, err, &pi)) {
		*status = 127;
		goto out;
	}
	CloseHandle(pi.hThread);
	CloseHandle(wr); /* the child's copy is the only writer left: its exit ends our read */
	wr = NULL;
	if ((fd = _open_osfhandle((intptr_t)rd, _O_RDONLY | _O_BINARY)) < 0)
		goto wait;
	rd = NULL; /* the descriptor's now */
	rc = cli_read_line_fd(fd, out);
	/* Whatever else it prints is read (so it does not block) and wiped. */
	while ((n = _read(fd, junk, sizeof(junk))) > 0)
		;
	sodium_memzero(junk, sizeof(junk));
wait:
	if (WaitForSingleObject(pi.hProcess, INFINITE) == WAIT_OBJECT_0 && GetExitCodeProcess(pi.hProcess, &code))
		*status = code > 255 ? 255 : (int)code;
	CloseHandle(pi.hProcess);
	if (rc == 0 && *status != 0) {
		vault_secret_free(out);
		rc = VAULT_ERR_INVAL;
	}
out:
	if (fd >= 0)
		_close(fd);
	if (rd != NULL)
		CloseHandle(rd);
	if (wr != NULL)
		CloseHandle(wr);
	if (in != NULL)
		CloseHandle(in);
	if (err != NULL)
		CloseHandle(err);
	free(exe);
	free(line);
	free(wprompt);
	return rc;
}

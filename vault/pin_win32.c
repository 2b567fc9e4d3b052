/* SPDX-License-Identifier: ISC */
/*
 * pin_win32.c - vault_program_open (vault_action.h) on Windows (issue 16):
 * what the request handlers pin a saved action's program with
 * (service_action.c), on top of winrun_win32.c's held open. pin.c is the
 * POSIX one (O_NOFOLLOW, a sealed memfd copy for fexecve).
 *
 * The program is opened with FILE_SHARE_READ only (never a reparse point,
 * never a batch file) and hashed on that handle, so the pin is the hash of
 * the bytes that were there while nobody could write them; the handle comes
 * back as a C runtime descriptor (not inherited by children), which the
 * caller closes. On Windows nothing executes it: `vault run` opens the
 * program again and compares its hash with the pin (vault_win_program_open
 * with want) and holds it across CreateProcessWithLogonW.
 *
 * vault_program_resolve (a search of PATH) is the client's, and the client
 * is not built for Windows yet.
 */
#include <windows.h>

#include <fcntl.h>
#include <io.h>
#include <string.h>

#include "internal.h"
#include "winrun_win32.h"

int
vault_program_open(int *exec_fd, const char *path, unsigned char pin[VAULT_PINBYTES])
{
	vault_win_pinned p;
	int fd, rc;

	*exec_fd = -1;
	if ((rc = vault_win_program_open(&p, path, NULL)) != 0)
		return rc;
	if ((fd = _open_osfhandle((intptr_t)p.h, _O_RDONLY | _O_BINARY | _O_NOINHERIT)) < 0) {
		vault_win_program_close(&p);
		return VAULT_ERR_IO;
	}
	p.h = INVALID_HANDLE_VALUE; /* the descriptor owns it now */
	memcpy(pin, p.pin, VAULT_PINBYTES);
	vault_win_program_close(&p);
	*exec_fd = fd;
	return 0;
}

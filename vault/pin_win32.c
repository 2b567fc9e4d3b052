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
 * vault_program_resolve finds a program as vault.exe is given it: a path
 * (made absolute), or a name searched on PATH (';'-separated, absolute
 * entries only: "" and relative ones would mean the current directory),
 * with ".exe" added to a name that has no extension, as CreateProcess
 * does. Batch files are found too, and refused when pinned.
 */
#include <windows.h>

#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <stdlib.h>
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

/* A regular file at path (no reparse point): its absolute path into *abs. */
static int
found(char **abs, const char *path)
{
	vault_file_info fi;

	if (vault_plat_lstat(path, &fi) != 0 || !fi.regular)
		return VAULT_ERR_NOTFOUND;
	*abs = _fullpath(NULL, path, 0);
	return *abs != NULL ? 0 : VAULT_ERR_NOMEM;
}

int
vault_program_resolve(char **abs, const char *prog, const char *path_env)
{
	const char *dir, *end, *base, *dot;
	char *cand;
	size_t plen, dlen;
	int rc, ext;

	*abs = NULL;
	if (prog == NULL || prog[0] == '\0')
		return VAULT_ERR_INVAL;
	plen = strnlen(prog, MAX_PATH * 3);
	if (plen >= MAX_PATH * 3)
		return VAULT_ERR_TOOBIG;
	if (strpbrk(prog, "\\/:") != NULL) {
		if ((rc = found(abs, prog)) != 0 && errno == ENOENT)
			return VAULT_ERR_NOTFOUND;
		return rc;
	}
	base = prog;
	dot = strrchr(base, '.');
	ext = dot != NULL && dot != base;
	if (path_env == NULL || path_env[0] == '\0')
		return VAULT_ERR_NOTFOUND;
	for (dir = path_env;; dir = end + 1) {
		if ((end = strchr(dir, ';')) == NULL)
			end = dir + strlen(dir);
		dlen = (size_t)(end - dir);
		if (dlen > 0 && dlen < MAX_PATH * 3) {
			if ((cand = malloc(dlen + 1 + plen + 5)) == NULL)
				return VAULT_ERR_NOMEM;
			memcpy(cand, dir, dlen);
			cand[dlen] = '\\';
			memcpy(cand + dlen + 1, prog, plen + 1);
			if (!ext)
				memcpy(cand + dlen + 1 + plen, ".exe", 5);
			rc = vault_plat_path_absolute(cand) ? found(abs, cand) : VAULT_ERR_NOTFOUND;
			free(cand);
			if (rc != VAULT_ERR_NOTFOUND)
				return rc;
		}
		if (*end == '\0')
			break;
	}
	return VAULT_ERR_NOTFOUND;
}

/* SPDX-License-Identifier: ISC */
/*
 * platform_win32.c - platform.h on Windows (mingw-w64; issue 16, a preview tested under wine
 * only). The descriptors are the C runtime's (_open), so the shared code's
 * read()/write()/close() work on them unchanged.
 */
#include <windows.h>

#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <string.h>
#include <sys/stat.h>
#include <tlhelp32.h>

#include "platform.h"

uint32_t
vault_plat_uid(void)
{
	union {
		TOKEN_USER user;
		unsigned char space[sizeof(TOKEN_USER) + SECURITY_MAX_SID_SIZE];
	} info;
	HANDLE token;
	DWORD len = 0;
	uint32_t uid = UINT32_MAX;
	BOOL ok;

	if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token))
		return uid;
	ok = GetTokenInformation(token, TokenUser, &info, sizeof(info), &len);
	CloseHandle(token);
	if (ok && IsValidSid(info.user.User.Sid) &&
	    *GetSidSubAuthorityCount(info.user.User.Sid) > 0)
		uid = (uint32_t)*GetSidSubAuthority(info.user.User.Sid,
		    (DWORD)*GetSidSubAuthorityCount(info.user.User.Sid) - 1);
	return uid;
}

uint32_t
vault_plat_pid(void)
{
	return (uint32_t)GetCurrentProcessId();
}

void
vault_plat_self_exe(char *buf, size_t len)
{
	DWORD n;

	n = GetModuleFileNameA(NULL, buf, len > MAXDWORD ? MAXDWORD : (DWORD)len);
	/* 0 is failure; len means the path was cut: neither is a path. */
	if (n == 0 || n >= len)
		n = 0;
	buf[n] = '\0';
}

/* pid's creation time into *t; 0 or -1. */
static int
created(uint32_t pid, FILETIME *t)
{
	FILETIME exited, kernel, user;
	HANDLE h;
	BOOL ok;

	if ((h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, (DWORD)pid)) == NULL)
		return -1;
	ok = GetProcessTimes(h, t, &exited, &kernel, &user);
	CloseHandle(h);
	return ok ? 0 : -1;
}

int
vault_plat_proc_info(uint32_t pid, uint32_t *ppid, int *tty)
{
	PROCESSENTRY32W pe;
	FILETIME child, parent;
	HANDLE snap;
	DWORD mode;
	int found = 0;

	if ((snap = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0)) == INVALID_HANDLE_VALUE)
		return -1;
	pe.dwSize = sizeof(pe);
	if (Process32FirstW(snap, &pe)) {
		do {
			if (pe.th32ProcessID == (DWORD)pid) {
				found = 1;
				break;
			}
		} while (Process32NextW(snap, &pe));
	}
	CloseHandle(snap);
	if (!found)
		return -1;
	/* Windows keeps a parent's id after the parent exits, and ids are reused:
	 * a parent that is gone, or younger than pid, is no parent. */
	*ppid = (uint32_t)pe.th32ParentProcessID;
	if (*ppid != 0 &&
	    (created(pid, &child) != 0 || created(*ppid, &parent) != 0 ||
		CompareFileTime(&parent, &child) > 0))
		*ppid = 0;
	*tty = pid == (uint32_t)GetCurrentProcessId() &&
	    GetConsoleMode(GetStdHandle(STD_INPUT_HANDLE), &mode);
	return 0;
}

int
vault_plat_create_private(const char *path)
{
	/* _O_EXCL is CREATE_NEW, which never follows a reparse point: anything at
	 * path, a link included, is EEXIST. The owner-only DACL is issue 16, item 2's
	 * next step (%LOCALAPPDATA%\vault); wine does not store DACLs. */
	return _open(path, _O_WRONLY | _O_CREAT | _O_EXCL | _O_BINARY | _O_NOINHERIT,
	    _S_IREAD | _S_IWRITE);
}

int
vault_plat_open_nofollow(const char *path)
{
	FILE_ATTRIBUTE_TAG_INFO tag;
	HANDLE h;
	DWORD err;
	int fd;

	h = CreateFileA(path, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING,
	    FILE_ATTRIBUTE_NORMAL | FILE_FLAG_OPEN_REPARSE_POINT, NULL);
	if (h == INVALID_HANDLE_VALUE) {
		err = GetLastError();
		if (err == ERROR_FILE_NOT_FOUND || err == ERROR_PATH_NOT_FOUND)
			errno = ENOENT;
		else if (err == ERROR_SHARING_VIOLATION || err == ERROR_ACCESS_DENIED)
			errno = EACCES;
		else
			errno = EIO;
		return -1;
	}
	if (!GetFileInformationByHandleEx(h, FileAttributeTagInfo, &tag, sizeof(tag)) ||
	    (tag.FileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) != 0) {
		CloseHandle(h);
		errno = ELOOP;
		return -1;
	}
	if ((fd = _open_osfhandle((intptr_t)h, _O_RDONLY | _O_BINARY)) < 0) {
		CloseHandle(h);
		errno = EIO;
		return -1;
	}
	return fd;
}

int
vault_plat_fsync(int fd)
{
	return _commit(fd);
}

int
vault_plat_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void))
{
	(void)prepare;
	(void)parent;
	(void)child;
	return 0;
}

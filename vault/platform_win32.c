/* SPDX-License-Identifier: ISC */
/*
 * platform_win32.c - platform.h on Windows (mingw-w64; issue 16, a preview tested under wine
 * only). The descriptors are the C runtime's (_open, _open_osfhandle), so the
 * shared code's read()/write()/close() work on them unchanged. Files are
 * trusted by owner SID and DACL (vault_plat_sd_ok), created with a protected
 * DACL for the user alone, opened without following reparse points.
 */
#include <windows.h>
#include <accctrl.h>
#include <aclapi.h>
#include <sddl.h>

#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <string.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <tlhelp32.h>

#include "platform.h"
#include "platform_win32.h"
#include "vault.h"

static int open_handle(const char *path, DWORD access, DWORD share, DWORD disposition,
    PSECURITY_DESCRIPTOR sd, int crtflags);

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

int64_t
vault_plat_monotonic_ms(void)
{
	return (int64_t)GetTickCount64();
}

void
vault_plat_sleep_ms(uint32_t ms)
{
	Sleep(ms);
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

void
vault_plat_proc_exe(uint32_t pid, char *buf, size_t len)
{
	HANDLE h;
	DWORD n = len > MAXDWORD ? MAXDWORD : (DWORD)len;
	BOOL ok = FALSE;

	if ((h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid)) != NULL) {
		ok = QueryFullProcessImageNameA(h, 0, buf, &n);
		CloseHandle(h);
	}
	if (!ok || n >= len)
		snprintf(buf, len, "[?]");
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
vault_plat_open_nofollow(const char *path)
{
	/* Shared for reading only: nobody writes, renames or deletes it while held. */
	return open_handle(path, GENERIC_READ, FILE_SHARE_READ, OPEN_EXISTING, NULL, _O_RDONLY);
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

/* --- files: identity, the held open, trust (store.c, held.c, trust.c) ---- */

/* Win32 error to errno, for the callers' strerror() and their EEXIST/ENOENT/ELOOP tests. */
static int
win_errno(DWORD err)
{
	switch (err) {
	case ERROR_FILE_NOT_FOUND:
	case ERROR_PATH_NOT_FOUND:
		return ENOENT;
	case ERROR_FILE_EXISTS:
	case ERROR_ALREADY_EXISTS:
		return EEXIST;
	case ERROR_ACCESS_DENIED:
	case ERROR_SHARING_VIOLATION:
		return EACCES;
	case ERROR_LOCK_VIOLATION:
		return EWOULDBLOCK;
	case ERROR_NOT_ENOUGH_MEMORY:
	case ERROR_OUTOFMEMORY:
		return ENOMEM;
	default:
		return EIO;
	}
}

static HANDLE
fd_handle(int fd)
{
	intptr_t h = _get_osfhandle(fd);

	return h == -1 ? INVALID_HANDLE_VALUE : (HANDLE)h;
}

static void
info_of(const BY_HANDLE_FILE_INFORMATION *b, vault_file_info *fi)
{
	fi->id.dev = b->dwVolumeSerialNumber;
	fi->id.ino = (uint64_t)b->nFileIndexHigh << 32 | b->nFileIndexLow;
	fi->size = (int64_t)((uint64_t)b->nFileSizeHigh << 32 | b->nFileSizeLow);
	fi->regular = (b->dwFileAttributes & (FILE_ATTRIBUTE_DIRECTORY | FILE_ATTRIBUTE_REPARSE_POINT)) == 0;
	fi->dir = (b->dwFileAttributes & (FILE_ATTRIBUTE_DIRECTORY | FILE_ATTRIBUTE_REPARSE_POINT)) ==
	    FILE_ATTRIBUTE_DIRECTORY;
	fi->nlink = (uint32_t)b->nNumberOfLinks;
}

int
vault_plat_fstat(int fd, vault_file_info *fi)
{
	BY_HANDLE_FILE_INFORMATION b;
	HANDLE h;

	if ((h = fd_handle(fd)) == INVALID_HANDLE_VALUE) {
		errno = EBADF;
		return -1;
	}
	if (!GetFileInformationByHandle(h, &b)) {
		errno = win_errno(GetLastError());
		return -1;
	}
	info_of(&b, fi);
	return 0;
}

int
vault_plat_lstat(const char *path, vault_file_info *fi)
{
	BY_HANDLE_FILE_INFORMATION b;
	HANDLE h;
	BOOL ok;

	h = CreateFileA(path, FILE_READ_ATTRIBUTES, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
	    NULL, OPEN_EXISTING, FILE_FLAG_OPEN_REPARSE_POINT | FILE_FLAG_BACKUP_SEMANTICS, NULL);
	if (h == INVALID_HANDLE_VALUE) {
		errno = win_errno(GetLastError());
		return -1;
	}
	ok = GetFileInformationByHandle(h, &b);
	if (!ok)
		errno = win_errno(GetLastError());
	CloseHandle(h);
	if (!ok)
		return -1;
	info_of(&b, fi);
	return 0;
}

/*
 * One read or write at off, the file pointer left where it was (a
 * synchronous handle's ReadFile and WriteFile move it): pread and pwrite.
 * End of file on a read is 0 bytes, not an error.
 */
static long long
positioned_io(int fd, void *rbuf, const void *wbuf, size_t len, uint64_t off)
{
	OVERLAPPED ov;
	LARGE_INTEGER zero, pos;
	HANDLE h;
	DWORD done = 0, err, n = len > MAXDWORD ? MAXDWORD : (DWORD)len;
	BOOL ok;

	if ((h = fd_handle(fd)) == INVALID_HANDLE_VALUE) {
		errno = EBADF;
		return -1;
	}
	zero.QuadPart = 0;
	if (!SetFilePointerEx(h, zero, &pos, FILE_CURRENT)) {
		errno = win_errno(GetLastError());
		return -1;
	}
	memset(&ov, 0, sizeof(ov));
	ov.Offset = (DWORD)off;
	ov.OffsetHigh = (DWORD)(off >> 32);
	ok = wbuf != NULL ? WriteFile(h, wbuf, n, &done, &ov) : ReadFile(h, rbuf, n, &done, &ov);
	err = GetLastError();
	(void)SetFilePointerEx(h, pos, NULL, FILE_BEGIN);
	if (!ok && (wbuf != NULL || err != ERROR_HANDLE_EOF)) {
		errno = win_errno(err);
		return -1;
	}
	return ok ? (long long)done : 0;
}

long long
vault_plat_pread(int fd, void *buf, size_t len, uint64_t off)
{
	return positioned_io(fd, buf, NULL, len, off);
}

/* The caller's user SID into sid (SECURITY_MAX_SID_SIZE bytes). 0 or -1. */
static int
user_sid(unsigned char sid[SECURITY_MAX_SID_SIZE])
{
	union {
		TOKEN_USER user;
		unsigned char space[sizeof(TOKEN_USER) + SECURITY_MAX_SID_SIZE];
	} info;
	HANDLE token;
	DWORD len = 0;
	BOOL ok;

	if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token))
		return -1;
	ok = GetTokenInformation(token, TokenUser, &info, sizeof(info), &len);
	CloseHandle(token);
	if (!ok || !IsValidSid(info.user.User.Sid) ||
	    !CopySid(SECURITY_MAX_SID_SIZE, (PSID)sid, info.user.User.Sid))
		return -1;
	return 0;
}

/*
 * A security descriptor for the caller alone: owner the user, a protected
 * DACL (nothing inherited from the parent) with one ACE granting the user
 * full access, inherited by files and directories made inside (dir).
 * LocalFree() it. NULL on failure, with errno.
 */
static PSECURITY_DESCRIPTOR
private_sd(int dir)
{
	unsigned char sid[SECURITY_MAX_SID_SIZE];
	PSECURITY_DESCRIPTOR sd = NULL;
	char *ssid = NULL, sddl[256];
	int n;

	if (user_sid(sid) != 0 || !ConvertSidToStringSidA((PSID)sid, &ssid)) {
		errno = EACCES;
		return NULL;
	}
	n = snprintf(sddl, sizeof(sddl), "O:%sD:P(A;%s;FA;;;%s)", ssid, dir ? "OICI" : "", ssid);
	LocalFree(ssid);
	if (n < 0 || (size_t)n >= sizeof(sddl) ||
	    !ConvertStringSecurityDescriptorToSecurityDescriptorA(sddl, SDDL_REVISION_1, &sd, NULL)) {
		errno = EINVAL;
		return NULL;
	}
	return sd;
}

/* A handle on path itself (never through a reparse point), as a C runtime descriptor. */
static int
open_handle(const char *path, DWORD access, DWORD share, DWORD disposition, PSECURITY_DESCRIPTOR sd,
    int crtflags)
{
	SECURITY_ATTRIBUTES sa;
	FILE_ATTRIBUTE_TAG_INFO tag;
	HANDLE h;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.nLength = sizeof(sa);
	sa.lpSecurityDescriptor = sd;
	sa.bInheritHandle = FALSE;
	/* BACKUP_SEMANTICS: a directory opens too, for the caller's check to
	 * refuse as "not a regular file" (as on POSIX), not as an I/O error. */
	h = CreateFileA(path, access, share, sd != NULL ? &sa : NULL, disposition,
	    FILE_ATTRIBUTE_NORMAL | FILE_FLAG_OPEN_REPARSE_POINT | FILE_FLAG_BACKUP_SEMANTICS, NULL);
	if (h == INVALID_HANDLE_VALUE) {
		errno = win_errno(GetLastError());
		return -1;
	}
	if (!GetFileInformationByHandleEx(h, FileAttributeTagInfo, &tag, sizeof(tag)) ||
	    (tag.FileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) != 0) {
		CloseHandle(h);
		errno = ELOOP;
		return -1;
	}
	if ((fd = _open_osfhandle((intptr_t)h, crtflags | _O_BINARY | _O_NOINHERIT)) < 0) {
		CloseHandle(h);
		errno = EIO;
		return -1;
	}
	return fd;
}

int
vault_plat_open_held(const char *path)
{
	/* No FILE_SHARE_DELETE: while this is open, nobody renames, deletes or replaces the file. */
	return open_handle(path, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, OPEN_EXISTING, NULL,
	    _O_RDONLY);
}

/* Creates path for the user alone (a protected DACL); CREATE_NEW never
 * follows a reparse point: anything at path, a link included, is EEXIST. */
static int
create_private_as(const char *path, DWORD access, DWORD share, int oflags)
{
	PSECURITY_DESCRIPTOR sd;
	int fd, err;

	if ((sd = private_sd(0)) == NULL)
		return -1;
	fd = open_handle(path, access, share, CREATE_NEW, sd, oflags);
	err = errno;
	LocalFree(sd);
	errno = err;
	return fd;
}

int
vault_plat_create_held(const char *path)
{
	return create_private_as(path, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE,
	    _O_RDWR);
}

int
vault_plat_create_private(const char *path)
{
	return create_private_as(path, GENERIC_WRITE, FILE_SHARE_READ, _O_WRONLY);
}

int
vault_plat_mkdir_private(const char *dir)
{
	SECURITY_ATTRIBUTES sa;
	PSECURITY_DESCRIPTOR sd;
	DWORD err = 0;
	BOOL ok;

	if ((sd = private_sd(1)) == NULL)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.nLength = sizeof(sa);
	sa.lpSecurityDescriptor = sd;
	ok = CreateDirectoryA(dir, &sa);
	if (!ok)
		err = GetLastError();
	LocalFree(sd);
	if (!ok && err != ERROR_ALREADY_EXISTS) {
		errno = win_errno(err);
		return -1;
	}
	return 0;
}

int
vault_plat_lock(int fd)
{
	OVERLAPPED ov;
	HANDLE h;

	if ((h = fd_handle(fd)) == INVALID_HANDLE_VALUE) {
		errno = EBADF;
		return -1;
	}
	memset(&ov, 0, sizeof(ov));
	if (!LockFileEx(h, LOCKFILE_EXCLUSIVE_LOCK | LOCKFILE_FAIL_IMMEDIATELY, 0, MAXDWORD, MAXDWORD, &ov)) {
		errno = win_errno(GetLastError());
		return -1;
	}
	return 0;
}

/* Rights that change a file, or (a directory) its entries. */
#define WRITE_RIGHTS (FILE_WRITE_DATA | FILE_APPEND_DATA | FILE_WRITE_EA | FILE_WRITE_ATTRIBUTES | \
	FILE_DELETE_CHILD | DELETE | WRITE_DAC | WRITE_OWNER | GENERIC_WRITE | GENERIC_ALL | MAXIMUM_ALLOWED)

/* sid as S-1-..., or a placeholder. */
static void
sid_text(PSID sid, char *buf, size_t len)
{
	char *s = NULL;

	if (sid != NULL && ConvertSidToStringSidA(sid, &s)) {
		snprintf(buf, len, "%s", s);
		LocalFree(s);
	} else {
		snprintf(buf, len, "(unreadable SID)");
	}
}

int
vault_plat_sd_ok(PSECURITY_DESCRIPTOR sd, PSID user, int strict, char *why, size_t whylen)
{
	char a[192], b[192]; /* S-1- and up to 15 sub-authorities of 10 digits */
	ACL_SIZE_INFORMATION size;
	PSID owner = NULL, sid;
	PACL dacl = NULL;
	BOOL present = FALSE, defaulted = FALSE;
	ACE_HEADER *hdr;
	ACCESS_MASK mask;
	DWORD i;

	if (sd == NULL || user == NULL || !IsValidSecurityDescriptor(sd) || !IsValidSid(user)) {
		snprintf(why, whylen, "no valid security descriptor");
		return VAULT_ERR_PERM;
	}
	if (!GetSecurityDescriptorOwner(sd, &owner, &defaulted) || owner == NULL) {
		snprintf(why, whylen, "has no owner");
		return VAULT_ERR_PERM;
	}
	if (!EqualSid(owner, user)) {
		sid_text(owner, a, sizeof(a));
		sid_text(user, b, sizeof(b));
		snprintf(why, whylen, "owned by %s, not by you (%s)", a, b);
		return VAULT_ERR_PERM;
	}
	if (!GetSecurityDescriptorDacl(sd, &present, &dacl, &defaulted) || !present || dacl == NULL) {
		snprintf(why, whylen, "has no DACL, which gives everyone full access; "
				      "allow only yourself (icacls NAME /inheritance:r /grant:r %%USERNAME%%:F)");
		return VAULT_ERR_PERM;
	}
	if (!GetAclInformation(dacl, &size, sizeof(size), AclSizeInformation)) {
		snprintf(why, whylen, "unreadable DACL");
		return VAULT_ERR_PERM;
	}
	for (i = 0; i < size.AceCount; i++) {
		if (!GetAce(dacl, i, (LPVOID *)&hdr)) {
			snprintf(why, whylen, "unreadable DACL entry %lu", (unsigned long)i);
			return VAULT_ERR_PERM;
		}
		/* Entries for what is created inside grant nothing on this object. */
		if ((hdr->AceFlags & INHERIT_ONLY_ACE) != 0)
			continue;
		/* Denying is always fine. */
		if (hdr->AceType == ACCESS_DENIED_ACE_TYPE || hdr->AceType == ACCESS_DENIED_OBJECT_ACE_TYPE ||
		    hdr->AceType == ACCESS_DENIED_CALLBACK_ACE_TYPE ||
		    hdr->AceType == ACCESS_DENIED_CALLBACK_OBJECT_ACE_TYPE)
			continue;
		if (hdr->AceType != ACCESS_ALLOWED_ACE_TYPE) {
			/* Object and callback grants: conditions this judge does not read. Refused. */
			snprintf(why, whylen, "DACL entry %lu is of a kind (%u) that is not checked; "
					      "allow only yourself", (unsigned long)i, (unsigned)hdr->AceType);
			return VAULT_ERR_PERM;
		}
		sid = (PSID)&((ACCESS_ALLOWED_ACE *)hdr)->SidStart;
		mask = ((ACCESS_ALLOWED_ACE *)hdr)->Mask;
		/* The user, and the root of Windows (SYSTEM, Administrators), who can take any file. */
		if (EqualSid(sid, user) || IsWellKnownSid(sid, WinLocalSystemSid) ||
		    IsWellKnownSid(sid, WinBuiltinAdministratorsSid))
			continue;
		if (strict ? mask != 0 : (mask & WRITE_RIGHTS) != 0) {
			sid_text(sid, a, sizeof(a));
			snprintf(why, whylen, "the DACL gives %s %s (access mask 0x%lx); allow only yourself "
					      "(icacls NAME /inheritance:r /grant:r %%USERNAME%%:F)",
			    a, strict ? "access" : "write access", (unsigned long)mask);
			return VAULT_ERR_PERM;
		}
	}
	return 0;
}

/* handle h's owner and DACL, judged for the caller. */
static int
trust_handle(HANDLE h, int strict, char *why, size_t whylen)
{
	unsigned char user[SECURITY_MAX_SID_SIZE];
	PSECURITY_DESCRIPTOR sd = NULL;
	PSID owner = NULL;
	PACL dacl = NULL;
	DWORD err;
	int rc;

	if (user_sid(user) != 0) {
		snprintf(why, whylen, "cannot read your user SID");
		return VAULT_ERR_IO;
	}
	err = GetSecurityInfo(h, SE_FILE_OBJECT, OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION,
	    &owner, NULL, &dacl, NULL, &sd);
	if (err != ERROR_SUCCESS) {
		snprintf(why, whylen, "cannot read the owner and DACL (error %lu)", (unsigned long)err);
		return VAULT_ERR_IO;
	}
	rc = vault_plat_sd_ok(sd, (PSID)user, strict, why, whylen);
	LocalFree(sd);
	return rc;
}

int
vault_plat_trust_fd(int fd, int strict, char *why, size_t whylen)
{
	BY_HANDLE_FILE_INFORMATION b;
	HANDLE h;

	if ((h = fd_handle(fd)) == INVALID_HANDLE_VALUE || !GetFileInformationByHandle(h, &b)) {
		snprintf(why, whylen, "cannot stat: error %lu", (unsigned long)GetLastError());
		return VAULT_ERR_IO;
	}
	if ((b.dwFileAttributes & (FILE_ATTRIBUTE_DIRECTORY | FILE_ATTRIBUTE_REPARSE_POINT)) != 0) {
		snprintf(why, whylen, "not a regular file");
		return VAULT_ERR_PERM;
	}
	return trust_handle(h, strict, why, whylen);
}

int
vault_plat_trust_dir(const char *dir, char *why, size_t whylen)
{
	BY_HANDLE_FILE_INFORMATION b;
	char inner[200];
	HANDLE h;
	DWORD err;
	int rc;

	h = CreateFileA(dir, READ_CONTROL | FILE_READ_ATTRIBUTES,
	    FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL, OPEN_EXISTING,
	    FILE_FLAG_BACKUP_SEMANTICS, NULL);
	if (h == INVALID_HANDLE_VALUE) {
		err = GetLastError();
		errno = win_errno(err);
		snprintf(why, whylen, "directory %s: %s", dir, strerror(errno));
		return errno == ENOENT ? VAULT_ERR_NOTFOUND : VAULT_ERR_IO;
	}
	if (!GetFileInformationByHandle(h, &b) || (b.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) == 0) {
		snprintf(why, whylen, "directory %s: not a directory", dir);
		CloseHandle(h);
		return VAULT_ERR_IO;
	}
	rc = trust_handle(h, 0, inner, sizeof(inner));
	CloseHandle(h);
	if (rc != 0)
		snprintf(why, whylen, "directory %s: %s", dir, inner);
	return rc;
}

long long
vault_plat_pwrite(int fd, const void *buf, size_t len, uint64_t off)
{
	return positioned_io(fd, NULL, buf, len, off);
}

int
vault_plat_open_rw(const char *path)
{
	PSECURITY_DESCRIPTOR sd;
	int fd, err;

	if ((sd = private_sd(0)) == NULL)
		return -1;
	/* The descriptor applies only when the file is created. Shared fully: a
	 * witness file that another of our processes (or a user) may remove. */
	fd = open_handle(path, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
	    OPEN_ALWAYS, sd, _O_RDWR);
	err = errno;
	LocalFree(sd);
	errno = err;
	return fd;
}

char *
vault_plat_realpath(const char *path)
{
	return _fullpath(NULL, path, 0);
}

void
vault_plat_witness(const char *msg)
{
	HANDLE ev;
	LPCSTR strs[1];

	if ((ev = RegisterEventSourceA(NULL, "vault")) == NULL)
		return;
	strs[0] = msg;
	(void)ReportEventA(ev, EVENTLOG_INFORMATION_TYPE, 0, 0, NULL, 1, 0, strs, NULL);
	DeregisterEventSource(ev);
}

int
vault_plat_default_path(char **out, int create)
{
	const char *base = getenv("LOCALAPPDATA");
	size_t len;

	*out = NULL;
	/* Absolute only: a drive letter and a separator, or a UNC path. */
	if (base == NULL ||
	    !((((base[0] >= 'A' && base[0] <= 'Z') || (base[0] >= 'a' && base[0] <= 'z')) && base[1] == ':' &&
		  (base[2] == '\\' || base[2] == '/')) ||
		(base[0] == '\\' && base[1] == '\\')))
		return VAULT_ERR_NOTFOUND;
	len = strlen(base) + sizeof("\\vault\\vault.db");
	if ((*out = malloc(len)) == NULL)
		return VAULT_ERR_NOMEM;
	snprintf(*out, len, "%s\\vault", base);
	if (create && vault_plat_mkdir_private(*out) != 0) {
		free(*out);
		*out = NULL;
		return VAULT_ERR_IO;
	}
	snprintf(*out, len, "%s\\vault\\vault.db", base);
	return 0;
}

int
vault_plat_is_wine(void)
{
	HMODULE nt = GetModuleHandleW(L"ntdll.dll");

	return nt != NULL && GetProcAddress(nt, "wine_get_version") != NULL;
}

int
vault_plat_sync_path(const char *path, int dir)
{
	int fd, rc = 0;

	if (dir)
		return 0; /* no directory handle to flush; vault_plat_rename writes through */
	if ((fd = open_handle(path, GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, OPEN_EXISTING, NULL,
	    _O_WRONLY)) < 0)
		return -1;
	if (!FlushFileBuffers(fd_handle(fd))) {
		errno = win_errno(GetLastError());
		rc = -1;
	}
	_close(fd);
	return rc;
}

int
vault_plat_rename(const char *from, const char *to, int replace)
{
	/* ANSI names, as every other open here (CreateFileA). */
	if (!MoveFileExA(from, to, MOVEFILE_WRITE_THROUGH | (replace ? MOVEFILE_REPLACE_EXISTING : 0))) {
		errno = win_errno(GetLastError());
		return -1;
	}
	return 0;
}

int
vault_plat_path_absolute(const char *path)
{
	return path != NULL && ((path[0] >= 'A' && path[0] <= 'Z') || (path[0] >= 'a' && path[0] <= 'z')) &&
	    path[1] == ':' && (path[2] == '\\' || path[2] == '/');
}

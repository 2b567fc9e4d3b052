/* SPDX-License-Identifier: ISC */
/*
 * winrun_win32.c - `vault run` on Windows (winrun_win32.h; issue 16, item
 * 6): the program pinned on a handle shared for reading only, and the
 * launch as the stored account through CreateProcessWithLogonW, behind a
 * seam of function pointers so that tests can make every call fail.
 *
 * Tested under wine (test_winrun): the share modes are real there (a
 * write, rename or delete of a held program fails with error 32), but
 * CreateProcessWithLogonW is a stub (0, GetLastError 0), so the launch is
 * proven only with the seam's fakes until it runs on real Windows.
 *
 * Residual risks, documented rather than fixed here: a directory above the
 * program can still be renamed on some file systems while the program is
 * held; the process is created from the path, and the loader opens it
 * again (the handle's share mode keeps it the same file with the same
 * bytes, but the check is the hash of what we read, as on Linux).
 */
#include <windows.h>
#include <shlobj.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common.h"
#include "winrun_win32.h"

#define PIN_FILE_MAX (1024ULL * 1024U * 1024U) /* bytes: 1 GiB, as pin.c */
#define PIN_CHUNK (64U * 1024U)

static const vault_win_api real_api = {
	CreateProcessWithLogonW,
	WaitForSingleObject,
	GetExitCodeProcess,
	GetLastError,
};

const vault_win_api *
vault_win_api_default(void)
{
	return &real_api;
}

/* UTF-8 s[0..len) into a malloc'd wide string; NULL on malformed input or no memory. */
static wchar_t *
widen(const char *s, size_t len)
{
	wchar_t *w;
	int n;

	if (len > INT_MAX - 1 || memchr(s, '\0', len) != NULL)
		return NULL;
	if (len == 0)
		return calloc(1, sizeof(wchar_t));
	if ((n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, (int)len, NULL, 0)) <= 0)
		return NULL;
	if ((w = calloc((size_t)n + 1, sizeof(wchar_t))) == NULL)
		return NULL;
	if (MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, (int)len, w, n) != n) {
		free(w);
		return NULL;
	}
	w[n] = L'\0';
	return w;
}

int
vault_win_password_from(vault_win_password *p, const vault_secret *s)
{
	int n;

	p->w = NULL;
	p->cap = 0;
	if (s == NULL || s->len == 0)
		return VAULT_ERR_EMPTY;
	if (s->len > INT_MAX - 1 || memchr(s->buf, '\0', s->len) != NULL ||
	    !vault_win_utf8_valid((const char *)s->buf, s->len))
		return VAULT_ERR_INVAL;
	if ((n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, (const char *)s->buf,
	    (int)s->len, NULL, 0)) <= 0)
		return VAULT_ERR_INVAL;
	p->cap = ((size_t)n + 1) * sizeof(wchar_t);
	if ((p->w = sodium_malloc(p->cap)) == NULL) {
		p->cap = 0;
		return VAULT_ERR_NOMEM;
	}
	if (MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, (const char *)s->buf, (int)s->len,
	    p->w, n) != n) {
		vault_win_password_free(p);
		return VAULT_ERR_INVAL;
	}
	p->w[n] = L'\0';
	return 0;
}

void
vault_win_password_free(vault_win_password *p)
{
	if (p->w != NULL) {
		sodium_memzero(p->w, p->cap);
		sodium_free(p->w);
	}
	p->w = NULL;
	p->cap = 0;
}

static void
password_wipe(vault_win_password *p)
{
	if (p != NULL && p->w != NULL)
		sodium_memzero(p->w, p->cap);
}

void
vault_win_program_close(vault_win_pinned *p)
{
	if (p->h != NULL && p->h != INVALID_HANDLE_VALUE)
		CloseHandle(p->h);
	p->h = INVALID_HANDLE_VALUE;
	free(p->path);
	p->path = NULL;
}

static int
open_error(DWORD e)
{
	switch (e) {
	case ERROR_FILE_NOT_FOUND:
	case ERROR_PATH_NOT_FOUND:
	case ERROR_INVALID_NAME:
		return VAULT_ERR_NOTFOUND;
	case ERROR_SHARING_VIOLATION:
	case ERROR_LOCK_VIOLATION:
		return VAULT_ERR_BUSY;
	case ERROR_NOT_ENOUGH_MEMORY:
	case ERROR_OUTOFMEMORY:
		return VAULT_ERR_NOMEM;
	case ERROR_ACCESS_DENIED:
		return VAULT_ERR_PERM;
	default:
		return VAULT_ERR_IO;
	}
}

int
vault_win_program_open(vault_win_pinned *p, const char *path, const unsigned char *want)
{
	crypto_generichash_state hs;
	BY_HANDLE_FILE_INFORMATION fi;
	unsigned char *buf = NULL;
	uint64_t off = 0, size;
	DWORD got;
	int rc;

	p->h = INVALID_HANDLE_VALUE;
	p->path = NULL;
	memset(p->pin, 0, sizeof(p->pin));
	if (path == NULL || path[0] == '\0')
		return VAULT_ERR_INVAL;
	if (vault_win_is_batch(path, strlen(path)))
		return VAULT_ERR_PERM;
	if ((p->path = widen(path, strlen(path))) == NULL)
		return VAULT_ERR_INVAL;
	/*
	 * Shared for reading only: while we hold it, nobody can open it to
	 * write, nor rename or delete it (both need delete sharing), so the
	 * bytes hashed are the bytes the loader maps. A reparse point is
	 * opened itself, not followed, and refused below.
	 */
	p->h = CreateFileW(p->path, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING,
	    FILE_ATTRIBUTE_NORMAL | FILE_FLAG_OPEN_REPARSE_POINT | FILE_FLAG_SEQUENTIAL_SCAN, NULL);
	if (p->h == INVALID_HANDLE_VALUE) {
		rc = open_error(GetLastError());
		goto out;
	}
	if (!GetFileInformationByHandle(p->h, &fi)) {
		rc = VAULT_ERR_IO;
		goto out;
	}
	if ((fi.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) != 0) {
		rc = VAULT_ERR_SYMLINK;
		goto out;
	}
	if ((fi.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) != 0 ||
	    GetFileType(p->h) != FILE_TYPE_DISK) {
		rc = VAULT_ERR_PERM;
		goto out;
	}
	size = ((uint64_t)fi.nFileSizeHigh << 32) | fi.nFileSizeLow;
	if (size > PIN_FILE_MAX) {
		rc = VAULT_ERR_TOOBIG;
		goto out;
	}
	if ((buf = malloc(PIN_CHUNK)) == NULL) {
		rc = VAULT_ERR_NOMEM;
		goto out;
	}
	if (crypto_generichash_init(&hs, NULL, 0, VAULT_PINBYTES) != 0) {
		rc = VAULT_ERR_IO;
		goto out;
	}
	/* To the end of the file on this handle, as pin.c does. */
	for (;;) {
		if (!ReadFile(p->h, buf, PIN_CHUNK, &got, NULL)) {
			rc = VAULT_ERR_IO;
			goto out;
		}
		if (got == 0)
			break;
		if (got > PIN_FILE_MAX - off) {
			rc = VAULT_ERR_TOOBIG;
			goto out;
		}
		crypto_generichash_update(&hs, buf, got);
		off += got;
	}
	crypto_generichash_final(&hs, p->pin, VAULT_PINBYTES);
	if (want != NULL && sodium_memcmp(p->pin, want, VAULT_PINBYTES) != 0) {
		rc = VAULT_ERR_POLICY;
		goto out;
	}
	rc = 0;
out:
	sodium_memzero(&hs, sizeof(hs));
	free(buf);
	if (rc != 0) {
		unsigned char now[VAULT_PINBYTES];

		/* A mismatch keeps the hash it found, for the message. */
		memcpy(now, p->pin, sizeof(now));
		vault_win_program_close(p);
		if (rc == VAULT_ERR_POLICY)
			memcpy(p->pin, now, sizeof(now));
		else
			memset(p->pin, 0, sizeof(p->pin));
	}
	return rc;
}

int
vault_win_env_put(char **list, size_t *n, size_t max, const char *name, const wchar_t *value)
{
	int len;
	size_t nl = strlen(name);
	char *kv;

	if (*n + 1 >= max)
		return VAULT_ERR_NOMEM;
	if ((len = WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, value, -1, NULL, 0, NULL, NULL)) <= 0)
		return VAULT_ERR_IO;
	if ((kv = malloc(nl + 1 + (size_t)len)) == NULL)
		return VAULT_ERR_NOMEM;
	memcpy(kv, name, nl);
	kv[nl] = '=';
	if (WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, value, -1, kv + nl + 1, len, NULL, NULL) != len) {
		free(kv);
		return VAULT_ERR_IO;
	}
	list[(*n)++] = kv;
	list[*n] = NULL;
	return 0;
}

void
vault_win_sys_env_free(char **fixed)
{
	size_t i;

	for (i = 0; fixed != NULL && fixed[i] != NULL; i++) {
		free(fixed[i]);
		fixed[i] = NULL;
	}
}

int
vault_win_sys_env(char **fixed, size_t max)
{
	static const struct {
		const char *name;
		const KNOWNFOLDERID *id;
	} folders[] = {
		{ "ProgramData", &FOLDERID_ProgramData },
		{ "ALLUSERSPROFILE", &FOLDERID_ProgramData },
		{ "ProgramFiles", &FOLDERID_ProgramFiles },
		{ "CommonProgramFiles", &FOLDERID_ProgramFilesCommon },
		{ "PUBLIC", &FOLDERID_Public },
	};
	wchar_t sys[MAX_PATH], win[MAX_PATH], buf[4 * MAX_PATH + 64], drive[3];
	UINT ns, nw;
	size_t n = 0, i;
	PWSTR w;
	int rc;

	if (max == 0)
		return VAULT_ERR_NOMEM;
	fixed[0] = NULL;
	ns = GetSystemDirectoryW(sys, MAX_PATH);
	nw = GetSystemWindowsDirectoryW(win, MAX_PATH);
	if (ns == 0 || ns >= MAX_PATH || nw < 2 || nw >= MAX_PATH || win[1] != L':')
		return VAULT_ERR_IO;
	drive[0] = win[0];
	drive[1] = L':';
	drive[2] = L'\0';
	/* The PATH a fresh Windows gives every account: the system's own directories only. */
	_snwprintf(buf, sizeof(buf) / sizeof(buf[0]), L"%ls;%ls;%ls\\Wbem;%ls\\WindowsPowerShell\\v1.0\\", sys, win,
	    sys, sys);
	buf[sizeof(buf) / sizeof(buf[0]) - 1] = L'\0';
	if ((rc = vault_win_env_put(fixed, &n, max, "PATH", buf)) != 0 ||
	    (rc = vault_win_env_put(fixed, &n, max, "PATHEXT", L".COM;.EXE;.BAT;.CMD;.VBS;.VBE;.JS;.JSE;.WSF;.WSH;.MSC")) != 0 ||
	    (rc = vault_win_env_put(fixed, &n, max, "SystemRoot", win)) != 0 || (rc = vault_win_env_put(fixed, &n, max, "windir", win)) != 0 ||
	    (rc = vault_win_env_put(fixed, &n, max, "SystemDrive", drive)) != 0)
		goto fail;
	_snwprintf(buf, sizeof(buf) / sizeof(buf[0]), L"%ls\\cmd.exe", sys);
	buf[sizeof(buf) / sizeof(buf[0]) - 1] = L'\0';
	if ((rc = vault_win_env_put(fixed, &n, max, "ComSpec", buf)) != 0)
		goto fail;
	for (i = 0; i < sizeof(folders) / sizeof(folders[0]); i++) {
		/* Where Windows does not answer, the program goes without (it was dropped from the caller's). */
		if (SHGetKnownFolderPath(folders[i].id, KF_FLAG_DONT_VERIFY, NULL, &w) != S_OK)
			continue;
		rc = vault_win_env_put(fixed, &n, max, folders[i].name, w);
		CoTaskMemFree(w);
		if (rc != 0)
			goto fail;
	}
	return 0;
fail:
	vault_win_sys_env_free(fixed);
	return rc;
}

wchar_t *
vault_win_env_wide(const char *u8, size_t u8len)
{
	size_t at, n;
	wchar_t *w;
	int k, total = 0;

	/* Entry by entry (each well-formed UTF-8: vault_win_env_filter checked), then the block's closing NUL. */
	for (at = 0; at + 1 < u8len; at += n + 1) {
		n = strlen(u8 + at);
		if (n > INT_MAX || (k = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, u8 + at, (int)n, NULL, 0)) <= 0 ||
		    k > INT_MAX / 2 - total)
			return NULL;
		total += k + 1;
	}
	if ((w = calloc((size_t)total + 2, sizeof(*w))) == NULL)
		return NULL;
	for (at = 0, total = 0; at + 1 < u8len; at += n + 1) {
		n = strlen(u8 + at);
		k = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, u8 + at, (int)n, w + total, (int)n);
		total += k + 1; /* calloc'd: the NUL is there */
	}
	return w;
}

wchar_t *
vault_win_env_block(const char *const *list)
{
	char *u8 = NULL, *sorted = NULL;
	size_t len = 0, at = 0, i, n, slen;
	wchar_t *w = NULL;

	for (i = 0; list[i] != NULL; i++)
		len += strlen(list[i]) + 1;
	if ((u8 = malloc(len + 1)) == NULL)
		return NULL;
	for (i = 0; list[i] != NULL; i++) {
		n = strlen(list[i]) + 1;
		memcpy(u8 + at, list[i], n);
		at += n;
	}
	if (vault_win_env_filter(u8, len, NULL, 0, &sorted, &slen) == 0)
		w = vault_win_env_wide(sorted, slen);
	free(sorted);
	free(u8);
	return w;
}

/*
 * The program's environment block (UTF-16, malloc'd) from the caller's
 * (o->env): vault_win_env_filter, with the system's values for a profile
 * run. NULL with why set on failure.
 */
static wchar_t *
env_block(const vault_win_run_opts *o, char *why, size_t whylen)
{
	char *fixed[16], *u8 = NULL;
	size_t u8len;
	wchar_t *w;
	int rc;

	fixed[0] = NULL;
	if (o->mode == VAULT_WIN_PROFILE && vault_win_sys_env(fixed, sizeof(fixed) / sizeof(fixed[0])) != 0) {
		snprintf(why, whylen, "cannot read the system's directories for the program's environment");
		return NULL;
	}
	rc = vault_win_env_filter(o->env, o->envlen, (const char *const *)fixed, o->mode == VAULT_WIN_PROFILE, &u8,
	    &u8len);
	vault_win_sys_env_free(fixed);
	if (rc != 0) {
		snprintf(why, whylen, "the caller's environment cannot be passed (%s)", vault_strerror(rc));
		return NULL;
	}
	if ((w = vault_win_env_wide(u8, u8len)) == NULL)
		snprintf(why, whylen, "out of memory");
	free(u8);
	return w;
}

int
vault_win_cmd_line(const char *cmd, wchar_t **exe, wchar_t **line, char *why, size_t whylen)
{
	wchar_t sys[MAX_PATH], *w = NULL;
	UINT ns;
	size_t n;

	*exe = *line = NULL;
	/* A C string cannot hold a NUL; what cmd.exe cannot be given is refused before anything runs. */
	if (cmd == NULL || cmd[0] == '\0') {
		snprintf(why, whylen, "the command is empty");
		return VAULT_ERR_INVAL;
	}
	if (strpbrk(cmd, "\r\n") != NULL) {
		snprintf(why, whylen, "the command has a line break (cmd.exe would run its first line only)");
		return VAULT_ERR_INVAL;
	}
	if ((w = widen(cmd, strlen(cmd))) == NULL) {
		snprintf(why, whylen, "the command is not valid UTF-8 (or out of memory)");
		return VAULT_ERR_INVAL;
	}
	if ((ns = GetSystemDirectoryW(sys, MAX_PATH)) == 0 || ns >= MAX_PATH) {
		snprintf(why, whylen, "cannot find the system directory (error %lu)", (unsigned long)GetLastError());
		free(w);
		return VAULT_ERR_IO;
	}
	n = wcslen(sys) + wcslen(w) + sizeof("\\cmd.exe\"  /d /s /c \"\"\"") + 16;
	if (n >= VAULT_WIN_CMDLINE_MAX) {
		snprintf(why, whylen, "the command is too long for a Windows command line");
		free(w);
		return VAULT_ERR_INVAL;
	}
	if ((*exe = calloc(MAX_PATH + 16, sizeof(wchar_t))) == NULL || (*line = calloc(n, sizeof(wchar_t))) == NULL) {
		free(*exe);
		*exe = NULL;
		free(w);
		snprintf(why, whylen, "out of memory");
		return VAULT_ERR_NOMEM;
	}
	_snwprintf(*exe, MAX_PATH + 16, L"%ls\\cmd.exe", sys);
	_snwprintf(*line, n, L"\"%ls\" /d /s /c \"%ls\"", *exe, w);
	free(w);
	return 0;
}

/* Held while handles are inheritable for one child: another thread's child takes none of them. */
static SRWLOCK inherit_lock = SRWLOCK_INIT;

BOOL
vault_win_spawn(const wchar_t *exe, wchar_t *line, DWORD flags, void *env, HANDLE in, HANDLE out, HANDLE err,
    PROCESS_INFORMATION *pi)
{
	LPPROC_THREAD_ATTRIBUTE_LIST attrs = NULL;
	STARTUPINFOEXW si;
	SIZE_T len = 0;
	HANDLE list[3];
	DWORD n = 0, i, e = 0;
	BOOL ok = FALSE;

	/* Each once: the attribute refuses a handle listed twice (stdout and stderr are often one). */
	list[n++] = in;
	if (out != in)
		list[n++] = out;
	if (err != in && err != out)
		list[n++] = err;
	(void)InitializeProcThreadAttributeList(NULL, 1, 0, &len);
	if (len == 0 || (attrs = HeapAlloc(GetProcessHeap(), 0, len)) == NULL) {
		SetLastError(ERROR_NOT_ENOUGH_MEMORY);
		return FALSE;
	}
	if (!InitializeProcThreadAttributeList(attrs, 1, 0, &len)) {
		e = GetLastError();
		HeapFree(GetProcessHeap(), 0, attrs);
		SetLastError(e);
		return FALSE;
	}
	memset(&si, 0, sizeof(si));
	si.StartupInfo.cb = sizeof(si);
	si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
	si.StartupInfo.hStdInput = in;
	si.StartupInfo.hStdOutput = out;
	si.StartupInfo.hStdError = err;
	si.lpAttributeList = attrs;
	AcquireSRWLockExclusive(&inherit_lock);
	if (UpdateProcThreadAttribute(attrs, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST, list, n * sizeof(HANDLE), NULL,
	    NULL)) {
		for (i = 0; i < n && SetHandleInformation(list[i], HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT); i++)
			;
		if (i == n)
			ok = CreateProcessW(exe, line, NULL, NULL, TRUE, flags | EXTENDED_STARTUPINFO_PRESENT, env, NULL,
			    &si.StartupInfo, pi);
	}
	e = ok ? 0 : GetLastError();
	/* The child has its copies (or none): ours are never inherited again. */
	for (i = 0; i < n; i++)
		(void)SetHandleInformation(list[i], HANDLE_FLAG_INHERIT, 0);
	ReleaseSRWLockExclusive(&inherit_lock);
	DeleteProcThreadAttributeList(attrs);
	HeapFree(GetProcessHeap(), 0, attrs);
	SetLastError(e);
	return ok;
}

int
vault_win_run(const vault_win_api *api, const vault_win_pinned *prog, const char *const *argv,
    size_t argc, const vault_win_run_opts *o, vault_win_password *pw, int *started, char *why,
    size_t whylen)
{
	STARTUPINFOW si;
	PROCESS_INFORMATION pi;
	wchar_t *wuser = NULL, *wdomain = NULL, *wcwd = NULL, *wcmd = NULL;
	char *cmd = NULL;
	wchar_t *env = NULL;
	DWORD flags, logon, code, err;
	size_t cmdlen;
	BOOL ok;
	int rc;

	if (started != NULL)
		*started = 0;
	if (whylen > 0)
		why[0] = '\0';
	memset(&pi, 0, sizeof(pi));
	if (api == NULL || prog == NULL || prog->h == INVALID_HANDLE_VALUE || prog->h == NULL ||
	    prog->path == NULL ||
	    o == NULL || o->user == NULL || o->user[0] == '\0' || pw == NULL || pw->w == NULL ||
	    (o->mode != VAULT_WIN_PROFILE && o->mode != VAULT_WIN_NETONLY)) {
		snprintf(why, whylen, "vault run: bad arguments");
		rc = EXIT_VAULT;
		goto out;
	}
	switch (vault_win_quote_argv(&cmd, &cmdlen, argv, NULL, argc, VAULT_WIN_LOGON_CMDLINE_MAX)) {
	case 0:
		break;
	case VAULT_ERR_TOOBIG:
		snprintf(why, whylen, "the command line is longer than the %u characters that "
		    "CreateProcessWithLogonW takes", VAULT_WIN_LOGON_CMDLINE_MAX);
		rc = EXIT_VAULT;
		goto out;
	case VAULT_ERR_NOMEM:
		snprintf(why, whylen, "out of memory");
		rc = EXIT_VAULT;
		goto out;
	case VAULT_ERR_POLICY:
		snprintf(why, whylen, "a batch file (.bat, .cmd) is not started directly: cmd.exe "
		    "would parse its arguments again; save an action that runs cmd.exe /c SCRIPT");
		rc = EXIT_NOEXEC;
		goto out;
	default:
		snprintf(why, whylen, "an argument cannot be passed to a Windows program intact (a NUL, "
		    "malformed UTF-8, or a '\"' in the program name)");
		rc = EXIT_VAULT;
		goto out;
	}
	if ((wcmd = widen(cmd, cmdlen)) == NULL || (wuser = widen(o->user, strlen(o->user))) == NULL ||
	    (o->domain != NULL && o->domain[0] != '\0' &&
	    (wdomain = widen(o->domain, strlen(o->domain))) == NULL) ||
	    (o->cwd != NULL && o->cwd[0] != '\0' && (wcwd = widen(o->cwd, strlen(o->cwd))) == NULL)) {
		snprintf(why, whylen, "a name or argument is not valid UTF-8, or out of memory");
		rc = EXIT_VAULT;
		goto out;
	}
	if (wcslen(wcmd) >= VAULT_WIN_LOGON_CMDLINE_MAX) {
		snprintf(why, whylen, "the command line is longer than the %u characters that "
		    "CreateProcessWithLogonW takes", VAULT_WIN_LOGON_CMDLINE_MAX);
		rc = EXIT_VAULT;
		goto out;
	}
	flags = CREATE_DEFAULT_ERROR_MODE;
	if (o->env != NULL) {
		if ((env = env_block(o, why, whylen)) == NULL) {
			rc = EXIT_VAULT;
			goto out;
		}
		flags |= CREATE_UNICODE_ENVIRONMENT;
	}
	logon = o->mode == VAULT_WIN_NETONLY ? LOGON_NETCREDENTIALS_ONLY : LOGON_WITH_PROFILE;
	memset(&si, 0, sizeof(si));
	si.cb = sizeof(si);
	/* prog->h stays open across the call: the file cannot change under it. */
	ok = api->create_with_logon(wuser, wdomain, pw->w, logon, prog->path, wcmd, flags, env, wcwd,
	    &si, &pi);
	err = ok ? 0 : api->last_error();
	password_wipe(pw);
	if (!ok) {
		rc = vault_win_logon_error(err, o->user, o->domain, why, whylen);
		goto out;
	}
	if (started != NULL)
		*started = 1;
	if (api->wait(pi.hProcess, INFINITE) != WAIT_OBJECT_0 ||
	    !api->exit_code(pi.hProcess, &code)) {
		snprintf(why, whylen, "the program started but waiting for it failed (error %lu)",
		    (unsigned long)api->last_error());
		rc = EXIT_VAULT;
		goto out;
	}
	rc = (int)code;
out:
	/* Every path: the call was made and wiped above, or never made. */
	password_wipe(pw);
	if (pi.hThread != NULL)
		CloseHandle(pi.hThread);
	if (pi.hProcess != NULL)
		CloseHandle(pi.hProcess);
	free(env);
	free(cmd);
	free(wcmd);
	free(wuser);
	free(wdomain);
	free(wcwd);
	return rc;
}

static int
launch_open(void *ctx, const vault_plan *plan, void **held, unsigned char pin[VAULT_PINBYTES], char *why,
    size_t whylen)
{
	vault_win_pinned *p;
	int rc;

	(void)ctx;
	*held = NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		snprintf(why, whylen, "out of memory");
		return VAULT_ERR_NOMEM;
	}
	if ((rc = vault_win_program_open(p, plan->program, NULL)) != 0) {
		snprintf(why, whylen, "%s: %s%s", plan->program, vault_strerror(rc),
		    rc == VAULT_ERR_BUSY ? " (another process has it open for writing)" :
		    rc == VAULT_ERR_PERM ? " (not a regular file, or a batch file: pin cmd.exe and pass /c)" : "");
		free(p);
		return rc;
	}
	memcpy(pin, p->pin, VAULT_PINBYTES);
	*held = p;
	return 0;
}

static void
launch_close(void *ctx, void *held)
{
	vault_win_pinned *p = held;

	(void)ctx;
	if (p == NULL)
		return;
	vault_win_program_close(p);
	free(p);
}

static int
launch_run(void *ctx, void *held, const vault_plan *plan, const vault_secret *secret, const char *cwd,
    const char *env, size_t envlen, int *started, char *why, size_t whylen)
{
	const vault_win_api *api = ctx;
	vault_win_password pw;
	vault_win_run_opts o;
	int rc;

	*started = 0;
	memset(&pw, 0, sizeof(pw));
	if ((rc = vault_win_password_from(&pw, secret)) != 0) {
		snprintf(why, whylen, "the stored password cannot be used for a Windows logon: %s",
		    vault_strerror(rc));
		launch_close(ctx, held);
		return EXIT_NOEXEC;
	}
	memset(&o, 0, sizeof(o));
	o.mode = plan->netonly ? VAULT_WIN_NETONLY : VAULT_WIN_PROFILE;
	o.env = plan->keep_env ? env : NULL; /* pipe_agent.c sends one exactly when the plan keeps it */
	o.envlen = envlen;
	o.user = plan->user;
	o.domain = plan->domain;
	o.cwd = cwd; /* the caller's, as runas; NULL: the agent's */
	rc = vault_win_run(api, held, (const char *const *)plan->argv, plan->argc, &o, &pw, started, why,
	    whylen);
	vault_win_password_free(&pw);
	launch_close(ctx, held);
	return rc;
}

void
vault_win_launcher(vault_pipe_launcher *out, const vault_win_api *api)
{
	memset(out, 0, sizeof(*out));
	out->open = launch_open;
	out->run = launch_run;
	out->close = launch_close;
	out->ctx = (void *)(uintptr_t)(api != NULL ? api : vault_win_api_default());
}

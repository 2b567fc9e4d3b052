/* SPDX-License-Identifier: ISC */
/*
 * winrun_win32.h - `vault run` on Windows (issue 16, item 6), the Win32
 * half (winrun_win32.c; the portable half is winrun.h): a program pinned
 * on a handle that nobody can write, rename or delete while it is held,
 * and the launch as the stored account with CreateProcessWithLogonW. The
 * agent calls these (the password never enters vault.exe).
 *
 * Every Win32 call a test must be able to fail goes through a
 * vault_win_api (the seam); vault_win_api_default() is the real API.
 *
 * MUST rules:
 *  - the password is UTF-16 in sodium_malloc'd memory (vault_win_password)
 *    and is wiped right after the logon call, on every path, even when the
 *    call is never made;
 *  - the program is opened with FILE_SHARE_READ only, hashed on that
 *    handle, and the handle is held until the process has been created;
 *  - nothing secret goes into a message.
 */
#ifndef VAULT_WINRUN_WIN32_H
#define VAULT_WINRUN_WIN32_H

#include <windows.h>

#include <stddef.h>

#include "vault.h"
#include "vault_action.h"
#include "pipe.h"
#include "winrun.h"

typedef struct vault_win_api {
	BOOL (WINAPI *create_with_logon)(LPCWSTR user, LPCWSTR domain, LPCWSTR password,
	    DWORD logon_flags, LPCWSTR app, LPWSTR cmdline, DWORD creation_flags, LPVOID env,
	    LPCWSTR cwd, LPSTARTUPINFOW si, LPPROCESS_INFORMATION pi);
	DWORD (WINAPI *wait)(HANDLE h, DWORD ms);
	BOOL (WINAPI *exit_code)(HANDLE h, LPDWORD code);
	DWORD (WINAPI *last_error)(void);
} vault_win_api;

/* The real API. */
const vault_win_api *vault_win_api_default(void);

/* A password as CreateProcessWithLogonW wants it: NUL-terminated UTF-16, sodium_malloc'd. */
typedef struct vault_win_password {
	wchar_t *w;
	size_t cap; /* bytes allocated at w */
} vault_win_password;

/*
 * Converts s (UTF-8) into *p. Returns 0, VAULT_ERR_INVAL (malformed
 * UTF-8, or a NUL inside), VAULT_ERR_EMPTY, VAULT_ERR_NOMEM.
 */
int vault_win_password_from(vault_win_password *p, const vault_secret *s) VAULT_WUR;
/* Wipes and frees; safe on a zeroed or freed one. */
void vault_win_password_free(vault_win_password *p);

/* A program held open for reading only (see the top of this file). */
typedef struct vault_win_pinned {
	HANDLE h;       /* INVALID_HANDLE_VALUE when not held */
	wchar_t *path;  /* malloc'd, what was opened */
	unsigned char pin[VAULT_PINBYTES]; /* the hash of its bytes */
} vault_win_pinned;

/*
 * Opens path (UTF-8) with FILE_SHARE_READ only (never a reparse point),
 * hashes it on that handle (BLAKE2b-256, as vault/pin.c) and, when want
 * is given, compares with it. Returns 0 with p held; VAULT_ERR_POLICY when
 * the hash differs (p->pin says what it is now; nothing is held);
 * VAULT_ERR_NOTFOUND; VAULT_ERR_BUSY when someone holds it open for
 * writing or deleting (error 32); VAULT_ERR_SYMLINK for a reparse point;
 * VAULT_ERR_PERM when not a regular file, or a batch file, which is never
 * opened (vault_win_is_batch: cmd.exe would parse its arguments again);
 * VAULT_ERR_TOOBIG; VAULT_ERR_IO.
 */
int vault_win_program_open(vault_win_pinned *p, const char *path,
    const unsigned char *want) VAULT_WUR;
/* Closes the handle and frees the path; safe twice. */
void vault_win_program_close(vault_win_pinned *p);

enum { VAULT_WIN_PROFILE = 0, VAULT_WIN_NETONLY = 1 };

typedef struct vault_win_run_opts {
	int mode;           /* VAULT_WIN_PROFILE (LOGON_WITH_PROFILE) or VAULT_WIN_NETONLY */
	const char *user;   /* UTF-8 */
	const char *domain; /* UTF-8; NULL or "" for none */
	const char *cwd;    /* UTF-8; NULL or "": the default */
	/*
	 * --env: the caller's block (winrun.h's shape), which the program gets
	 * through vault_win_env_filter: filtered, with the system's own PATH,
	 * SystemRoot and the rest, for a profile run (another account); as it
	 * is for a network-only one (it runs as the caller). NULL: the
	 * account's default environment.
	 */
	const char *env;
	size_t envlen;
} vault_win_run_opts;

/*
 * The "NAME=VALUE" strings (UTF-8, malloc'd, NULL-ended, at most max - 1)
 * a profile run's environment takes from Windows, never from the caller:
 * PATH, PATHEXT, ComSpec, SystemRoot, windir, SystemDrive (from
 * GetSystemDirectoryW and GetSystemWindowsDirectoryW), and ProgramData,
 * ALLUSERSPROFILE, ProgramFiles, CommonProgramFiles and PUBLIC (from
 * SHGetKnownFolderPath) where Windows answers. Returns 0, or
 * VAULT_ERR_IO / VAULT_ERR_NOMEM (nothing to free). Free with
 * vault_win_sys_env_free.
 */
int vault_win_sys_env(char **fixed, size_t max);
void vault_win_sys_env_free(char **fixed);

/*
 * Appends "name=value" (value UTF-16, made UTF-8; malloc'd) to list[*n]
 * and keeps list NULL-ended, at most max - 1 entries. Returns 0,
 * VAULT_ERR_NOMEM (full, or no memory) or VAULT_ERR_IO (value is not
 * well-formed UTF-16).
 */
int vault_win_env_put(char **list, size_t *n, size_t max, const char *name, const wchar_t *value);

/*
 * The environment block CreateProcessW takes (UTF-16, malloc'd; free())
 * from the NULL-ended "NAME=VALUE" strings in list (UTF-8): sorted and the
 * first of each name only (vault_win_env_filter without its filter).
 * NULL when an entry is malformed or out of memory.
 */
wchar_t *vault_win_env_block(const char *const *list);

/* The same from a block of winrun.h's shape, as vault_win_env_filter leaves it (len with its last NUL). */
wchar_t *vault_win_env_wide(const char *block, size_t len);

/*
 * The command line that runs cmd (UTF-8: an account's rotate or verify
 * command, VAULT_PASSPHRASE_COMMAND) through cmd.exe, named by its full
 * path under GetSystemDirectoryW (never found through PATH or %ComSpec%):
 * *exe is that path, *line `"<exe>" /d /s /c "CMD"` (/d: no AutoRun; /s:
 * cmd.exe strips the outer quotes and runs CMD as typed). Both malloc'd.
 * Returns 0; VAULT_ERR_INVAL with why said for an empty cmd, one holding a
 * line break (cmd.exe would run its first line only), one that is not
 * UTF-8 or too long for a command line; VAULT_ERR_IO; VAULT_ERR_NOMEM.
 */
int vault_win_cmd_line(const char *cmd, wchar_t **exe, wchar_t **line, char *why, size_t whylen);

/*
 * CreateProcessW(exe, line) with in, out and err as the child's standard
 * handles and no other handle inherited: each is made inheritable only for
 * the call, under one process-wide lock (so two threads' children never
 * inherit each other's), and listed in PROC_THREAD_ATTRIBUTE_HANDLE_LIST
 * (which wine accepts but does not enforce: the lock is what holds there).
 * flags and env are CreateProcessW's. The handles stay the caller's.
 * TRUE, or FALSE with GetLastError() said.
 */
BOOL vault_win_spawn(const wchar_t *exe, wchar_t *line, DWORD flags, void *env, HANDLE in, HANDLE out,
    HANDLE err, PROCESS_INFORMATION *pi);

/*
 * Starts prog (held) with argv as o->user, waits for it and returns its
 * exit code. pw is wiped right after the logon call, on every path (the
 * caller frees it). On failure returns an EXIT_* code (winrun.h) with a
 * secret-free message in why; on success returns the child's exit code and
 * leaves why "". *started (may be NULL) says whether the child ran.
 */
int vault_win_run(const vault_win_api *api, const vault_win_pinned *prog, const char *const *argv,
    size_t argc, const vault_win_run_opts *o, vault_win_password *pw, int *started, char *why,
    size_t whylen);

/*
 * The agent's launcher (pipe.h's vault_pipe_launcher) over api (NULL: the
 * real one): open() is vault_win_program_open() with no pin to compare
 * (the release compares it, audited); run() makes the password UTF-16
 * (vault_win_password_from), calls vault_win_run() as the plan's account,
 * LOGON_NETCREDENTIALS_ONLY for a network-only plan, the caller's
 * environment for one that keeps it, and wipes it on every path.
 */
void vault_win_launcher(vault_pipe_launcher *out, const vault_win_api *api);

#endif

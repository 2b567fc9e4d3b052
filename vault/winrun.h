/* SPDX-License-Identifier: ISC */
/*
 * winrun.h - the portable half of `vault run` on Windows (issue 16, item 6):
 * the command line for CreateProcess built from an argv, and what each
 * logon error of CreateProcessWithLogonW tells the user, with its exit
 * code. winrun.c implements both on every platform, so they are tested on
 * Linux as well as under wine; the Win32 half (pinning the program on a
 * handle, the logon itself behind a seam) is winrun_win32.h.
 *
 * Exit codes (common/common.h's EXIT_* conventions, as env(1) and sudo):
 *   EXIT_NOEXEC   (126) found but not run: every logon refusal (1326,
 *                  1327, 1330, 1331, 1385, 1907, 1909), the Secondary Logon
 *                  service disabled (1058), a changed program, and any
 *                  other error of the logon call;
 *   EXIT_NOTFOUND (127) no such program (2, 3) or account (1317);
 *   EXIT_VAULT    (125) an error of ours (an argv that cannot be quoted,
 *                  out of memory, the wait failed);
 *   otherwise the program's own exit code is passed through.
 */
#ifndef VAULT_WINRUN_H
#define VAULT_WINRUN_H

#include <stddef.h>
#include <stdint.h>

/* CreateProcessW's limit on a command line, in UTF-16 units with the NUL. */
#define VAULT_WIN_CMDLINE_MAX 32767U
/* CreateProcessWithLogonW's (its documentation: 1024 characters). */
#define VAULT_WIN_LOGON_CMDLINE_MAX 1024U

/*
 * Builds a command line from argv[0..argc-1] (UTF-8; lens[i] is each
 * element's length, or lens is NULL for C strings) so that
 * CommandLineToArgvW and the C runtime give every element back intact:
 *  - argv[0] (the program name) is always quoted and taken literally by
 *    both parsers, backslashes included: it cannot hold a '"';
 *  - every other element is quoted when empty or holding a space, tab,
 *    newline, vertical tab or '"'; inside quotes a run of backslashes is
 *    doubled before a '"' (which is escaped) and before the closing quote.
 * *out is malloc'd and NUL-terminated; *outlen (may be NULL) its length.
 * Returns 0; VAULT_ERR_INVAL for argc 0, a NUL inside an element, an
 * empty argv[0] or one holding a '"', or malformed UTF-8 (none of them
 * can be represented); VAULT_ERR_POLICY when argv[0] names a batch file
 * (vault_win_is_batch);
 * VAULT_ERR_TOOBIG past max bytes with the NUL (UTF-8 bytes are never
 * fewer than UTF-16 units, so this bound holds for the wide line too);
 * VAULT_ERR_NOMEM.
 */
int vault_win_quote_argv(char **out, size_t *outlen, const char *const *argv, const size_t *lens,
    size_t argc, size_t max);

/*
 * What a Win32 error from CreateProcessWithLogonW means to the user: a
 * secret-free message in msg (a fixed text per logon error, naming what
 * to do; otherwise a generic one with the number) and the exit code to
 * leave with (see the top of this file). user and domain (may be NULL or
 * "") name the account in the message.
 */
int vault_win_logon_error(uint32_t err, const char *user, const char *domain, char *msg,
    size_t msglen);

/*
 * 1 if path names a batch file: its last component ends in ".bat" or
 * ".cmd" (any case), once the trailing dots and spaces that Win32 strips
 * from a name are ignored ("x.bat. ." opens x.bat). CreateProcess runs a
 * batch file through cmd.exe, which parses the command line again with
 * its own rules (%VAR%, ^, &, |): the quoting above cannot make a hostile
 * argument safe there (the "BatBadBut" class, CVE-2024-24576), so a
 * batch file is never launched directly; an action that wants one pins
 * cmd.exe and passes "/c" and the script as its own arguments.
 */
int vault_win_is_batch(const char *path, size_t len);

/* 1 if s[0..len) is well-formed UTF-8 (no overlongs, surrogates or > U+10FFFF). */
int vault_win_utf8_valid(const char *s, size_t len);

/*
 * `vault run --env` (issue 16, item 6): the caller's environment, sent
 * with LAUNCH as a block of "NAME=VALUE" entries (UTF-8), each ended by a
 * NUL; len counts every byte, the last NUL included (an empty block: 0).
 * At most VAULT_WIN_ENV_MAX bytes; the frame's bound (VAULT_FRAME_MAX)
 * holds for the whole LAUNCH, directory included.
 */
#define VAULT_WIN_ENV_MAX 32768U

/*
 * 0 (and the entry count in *count, may be NULL) if in[0..len) is such a
 * block: every entry NUL-ended, well-formed UTF-8, holding a '=' (a name
 * may be empty: Windows' own "=C:=C:\dir"); VAULT_ERR_INVAL if not;
 * VAULT_ERR_TOOBIG past VAULT_WIN_ENV_MAX.
 */
int vault_win_env_check(const char *in, size_t len, size_t *count);

/*
 * The environment block for the program (winenv.c says why each rule):
 * the caller's entries less the per-drive directories ("=C:..."), the
 * first of each name (any case) only; with filter (a program run as
 * another account), also less every name that says where code,
 * configuration or a profile is (PATH, SystemRoot, TEMP, USERPROFILE,
 * __COMPAT_LAYER, COR_PROFILER*, DOTNET_*, PYTHON*, ...) and less every
 * name in fixed, then plus fixed ("NAME=VALUE" strings the agent took
 * from Windows: PATH, SystemRoot, ...; NULL-ended, may be NULL). Without
 * filter (network-only: the program runs as the caller) fixed is unused.
 * *out: malloc'd, sorted by name ignoring case (CreateProcess wants it
 * so), each entry NUL-ended and one more NUL at the end; *outlen (may be
 * NULL) its bytes. Returns 0, vault_win_env_check's errors, or
 * VAULT_ERR_NOMEM.
 */
int vault_win_env_filter(const char *in, size_t len, const char *const *fixed, int filter, char **out,
    size_t *outlen);

#endif

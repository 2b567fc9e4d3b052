/* SPDX-License-Identifier: ISC */
/*
 * test_winrun.c - the Win32 halves of `vault run` (vault/winrun_win32.c)
 * and of the `windows` rotation target (target/windows_win32.c), under
 * wine (issue 16, items 6 and 7):
 *  - hostile arguments quoted by vault_win_quote_argv come back intact
 *    from the real CommandLineToArgvW, and from a real child's C runtime
 *    and CommandLineToArgvW (test_winrun_echo, started with CreateProcessW
 *    while it is pinned), whose exit code comes through;
 *  - pinning: while held, a write, a rename and a delete of the program
 *    fail with error 32; a changed program is refused by its hash; a
 *    program someone holds open for writing is refused;
 *  - the launch through fakes of CreateProcessWithLogonW: every logon
 *    error's message and exit code, the flags of --profile, --netonly and
 *    --env, the child's exit code, and the password buffer all zeros after
 *    the call on every path;
 *  - the rotation target through fakes of NetUserChangePassword and
 *    LogonUserW: success, wrong old password, policy refusal, verify
 *    failing after the change.
 * The real CreateProcessWithLogonW and LogonUserW are stubs under wine
 * (error 0; any password accepted): those cases detect wine and skip.
 */
#include <windows.h>
#include <shellapi.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "common.h"
#include "platform.h"
#include "vault.h"
#include "windows_win32.h"
#include "winrun_win32.h"

#include "test_winrun_args.h"

/*
 * A case that cannot be proven here: the reason is printed ("# skip: ...")
 * and the case returns. Not cmocka's skip(): cmocka 1.1 prints "not ok N #
 * SKIP", which meson's TAP parser counts as a failure (see test_buf.c).
 */
#define SKIP_CASE() return

static wchar_t *
w(const char *s)
{
	wchar_t *out;
	int n;

	if (s[0] == '\0')
		return calloc(1, sizeof(wchar_t));
	n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, NULL, 0);
	assert_true(n > 0);
	out = calloc((size_t)n, sizeof(wchar_t));
	assert_non_null(out);
	assert_int_equal(MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, out, n), n);
	return out;
}

/* The directory of this program, with a trailing backslash. */
static void
self_dir(wchar_t *buf, size_t len)
{
	wchar_t *slash;
	DWORD n = GetModuleFileNameW(NULL, buf, (DWORD)len);

	assert_true(n > 0 && n < len);
	slash = wcsrchr(buf, L'\\');
	assert_non_null(slash);
	slash[1] = L'\0';
}

static void
echo_path(char *buf, size_t len)
{
	wchar_t dir[MAX_PATH];

	self_dir(dir, MAX_PATH);
	assert_true(WideCharToMultiByte(CP_UTF8, 0, dir, -1, buf, (int)len, NULL, NULL) > 0);
	assert_true(strlen(buf) + 21 < len);
	strcat(buf, "test_winrun_echo.exe");
}

static void
quote_commandlinetoargvw(void **state)
{
	const char *argv[NHOSTILE + 1];
	wchar_t *wcmd, **back, *want;
	char *cmd;
	size_t i;
	int n;

	(void)state;
	argv[0] = "C:\\Program Files\\vault test\\echo.exe";
	for (i = 0; i < NHOSTILE; i++)
		argv[i + 1] = hostile[i];
	assert_int_equal(vault_win_quote_argv(&cmd, NULL, argv, NULL, NHOSTILE + 1,
	    VAULT_WIN_CMDLINE_MAX), 0);
	wcmd = w(cmd);
	back = CommandLineToArgvW(wcmd, &n);
	assert_non_null(back);
	assert_int_equal(n, (int)NHOSTILE + 1);
	for (i = 0; i < (size_t)n; i++) {
		want = w(argv[i]);
		if (wcscmp(back[i], want) != 0)
			fail_msg("element %zu [%s] did not come back intact from [%s]", i, argv[i], cmd);
		free(want);
	}
	LocalFree(back);
	free(wcmd);
	free(cmd);
}

/* Runs the echo program (held by pin) with cmd; its output into out, its exit code returned. */
static DWORD
run_echo(const vault_win_pinned *pin, const char *cmd, char *out, size_t outlen)
{
	SECURITY_ATTRIBUTES sa = { sizeof(sa), NULL, TRUE };
	STARTUPINFOW si;
	PROCESS_INFORMATION pi;
	HANDLE rd, wr;
	wchar_t *wcmd = w(cmd);
	DWORD got, code = 999;
	size_t at = 0;

	assert_true(CreatePipe(&rd, &wr, &sa, 0));
	assert_true(SetHandleInformation(rd, HANDLE_FLAG_INHERIT, 0));
	memset(&si, 0, sizeof(si));
	si.cb = sizeof(si);
	si.dwFlags = STARTF_USESTDHANDLES;
	si.hStdOutput = wr;
	si.hStdError = GetStdHandle(STD_ERROR_HANDLE);
	si.hStdInput = GetStdHandle(STD_INPUT_HANDLE);
	if (!CreateProcessW(pin->path, wcmd, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi))
		fail_msg("CreateProcessW of the pinned echo program: error %lu",
		    (unsigned long)GetLastError());
	CloseHandle(wr);
	while (at + 1 < outlen && ReadFile(rd, out + at, (DWORD)(outlen - 1 - at), &got, NULL) &&
	    got > 0)
		at += got;
	out[at] = '\0';
	CloseHandle(rd);
	assert_int_equal(WaitForSingleObject(pi.hProcess, 30000), WAIT_OBJECT_0);
	assert_true(GetExitCodeProcess(pi.hProcess, &code));
	CloseHandle(pi.hProcess);
	CloseHandle(pi.hThread);
	free(wcmd);
	return code;
}

static void
hex_of(char *out, size_t len, const char *utf8)
{
	wchar_t *ws = w(utf8), *p;
	size_t at = 0;

	out[0] = '\0';
	for (p = ws; *p != L'\0'; p++) {
		assert_true(at + 5 < len);
		at += (size_t)snprintf(out + at, len - at, "%04x", (unsigned)*p);
	}
	free(ws);
}

static void
quote_child(void **state)
{
	const char *argv[NHOSTILE + 1];
	char path[MAX_PATH * 3], *cmd, *out, line[4096], hex[2048];
	vault_win_pinned pin;
	size_t i;
	const char *tag;

	(void)state;
	echo_path(path, sizeof(path));
	/* The child runs while its program is pinned: the loader's open is compatible. */
	assert_int_equal(vault_win_program_open(&pin, path, NULL), 0);
	argv[0] = path;
	for (i = 0; i < NHOSTILE; i++)
		argv[i + 1] = hostile[i];
	assert_int_equal(vault_win_quote_argv(&cmd, NULL, argv, NULL, NHOSTILE + 1,
	    VAULT_WIN_CMDLINE_MAX), 0);
	out = calloc(1, 65536);
	assert_non_null(out);
	assert_int_equal(run_echo(&pin, cmd, out, 65536), 7);
	for (tag = "crt";; tag = "c2a") {
		for (i = 1; i <= NHOSTILE; i++) {
			hex_of(hex, sizeof(hex), argv[i]);
			snprintf(line, sizeof(line), "%s %zu %s\n", tag, i, hex);
			if (strstr(out, line) == NULL)
				fail_msg("%s: element %zu [%s] did not reach the child intact:\n%s", tag, i,
				    argv[i], out);
		}
		/* Exactly that many elements, no more. */
		snprintf(line, sizeof(line), "%s %zu ", tag, NHOSTILE + 1);
		assert_null(strstr(out, line));
		if (strcmp(tag, "c2a") == 0)
			break;
	}
	free(out);
	free(cmd);
	vault_win_program_close(&pin);
}

/* A scratch program file: VAULT_BUILD_ROOT, named by our process id. */
static void
scratch(char *path, size_t len, const char *what)
{
	const char *root = getenv("VAULT_BUILD_ROOT");

	assert_non_null(root);
	snprintf(path, len, "%s/test-winrun-%lu-%s", root, (unsigned long)GetCurrentProcessId(),
	    what);
	(void)remove(path);
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
}

static void
pin_share_modes(void **state)
{
	char path[1024], moved[1100];
	unsigned char want[VAULT_PINBYTES];
	wchar_t *wp, *wm;
	vault_win_pinned pin;
	HANDLE h;

	(void)state;
	scratch(path, sizeof(path), "prog.tmp"); /* not .exe: windows.sh checks every .exe */
	snprintf(moved, sizeof(moved), "%s.moved", path);
	write_file(path, "MZ pretend program bytes");
	crypto_generichash(want, sizeof(want), (const unsigned char *)"MZ pretend program bytes", 24,
	    NULL, 0);
	wp = w(path);
	wm = w(moved);

	assert_int_equal(vault_win_program_open(&pin, path, want), 0);
	assert_memory_equal(pin.pin, want, sizeof(want));
	/* While held: no write, no rename, no delete (error 32 each). */
	h = CreateFileW(wp, GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
	    NULL, OPEN_EXISTING, 0, NULL);
	assert_true(h == INVALID_HANDLE_VALUE);
	assert_int_equal(GetLastError(), ERROR_SHARING_VIOLATION);
	assert_false(MoveFileW(wp, wm));
	assert_int_equal(GetLastError(), ERROR_SHARING_VIOLATION);
	assert_false(DeleteFileW(wp));
	assert_int_equal(GetLastError(), ERROR_SHARING_VIOLATION);
	/* Reading it alongside is fine. */
	h = CreateFileW(wp, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING, 0, NULL);
	assert_true(h != INVALID_HANDLE_VALUE);
	CloseHandle(h);
	vault_win_program_close(&pin);
	vault_win_program_close(&pin); /* twice is safe */

	/* Released: it can be changed, and then the pin refuses it. */
	write_file(path, "MZ pretend program bytes, changed");
	assert_int_equal(vault_win_program_open(&pin, path, want), VAULT_ERR_POLICY);
	assert_true(pin.h == INVALID_HANDLE_VALUE);
	assert_null(pin.path);
	assert_memory_not_equal(pin.pin, want, sizeof(want));
	/* Nothing is held after a refusal: it can be deleted. */
	assert_true(DeleteFileW(wp));

	/* Someone holding it open for writing: refused (error 32 on our open). */
	write_file(path, "MZ");
	h = CreateFileW(wp, GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING, 0,
	    NULL);
	assert_true(h != INVALID_HANDLE_VALUE);
	assert_int_equal(vault_win_program_open(&pin, path, NULL), VAULT_ERR_BUSY);
	CloseHandle(h);
	assert_int_equal(vault_win_program_open(&pin, path, NULL), 0);
	vault_win_program_close(&pin);
	assert_true(DeleteFileW(wp));
	assert_int_equal(vault_win_program_open(&pin, path, NULL), VAULT_ERR_NOTFOUND);
	assert_int_equal(vault_win_program_open(&pin, "", NULL), VAULT_ERR_INVAL);
	free(wp);
	free(wm);
}

/* --- the launch, through fakes --------------------------------------- */

static struct fake {
	BOOL ok;
	DWORD err;
	DWORD wait_result;
	BOOL exit_ok;
	DWORD exit_code;
	int calls;
	/* What the logon call saw. */
	wchar_t user[64], domain[64], password[64], app[MAX_PATH], cmd[1100];
	int domain_null, cwd_null;
	wchar_t cwd[64];
	const wchar_t *password_at;
	DWORD logon_flags, creation_flags;
	LPVOID env;
	wchar_t env_copy[4096]; /* the block the call got, up to its closing NUL */
} fk;

static BOOL WINAPI
fake_logon(LPCWSTR user, LPCWSTR domain, LPCWSTR password, DWORD logon_flags, LPCWSTR app,
    LPWSTR cmdline, DWORD creation_flags, LPVOID env, LPCWSTR cwd, LPSTARTUPINFOW si,
    LPPROCESS_INFORMATION pi)
{
	fk.calls++;
	fk.cwd_null = cwd == NULL;
	if (cwd != NULL)
		wcsncpy(fk.cwd, cwd, 63);
	assert_int_equal(si->cb, sizeof(*si));
	wcsncpy(fk.user, user, 63);
	fk.domain_null = domain == NULL;
	if (domain != NULL)
		wcsncpy(fk.domain, domain, 63);
	wcsncpy(fk.password, password, 63);
	fk.password_at = password;
	wcsncpy(fk.app, app, MAX_PATH - 1);
	wcsncpy(fk.cmd, cmdline, 1099);
	fk.logon_flags = logon_flags;
	fk.creation_flags = creation_flags;
	fk.env = env;
	if (env != NULL) {
		const wchar_t *e = env;
		size_t n = 0;

		while (e[n] != L'\0' || (n > 0 && e[n - 1] != L'\0'))
			n++;
		if (n == 0)
			n++; /* an empty block is two NULs */
		assert_true(n + 1 < sizeof(fk.env_copy) / sizeof(fk.env_copy[0]));
		memcpy(fk.env_copy, e, (n + 1) * sizeof(wchar_t));
	}
	if (!fk.ok)
		return FALSE;
	/* A real handle, so the caller's CloseHandle works; it is never waited on for real. */
	pi->hProcess = CreateEventW(NULL, TRUE, TRUE, NULL);
	pi->hThread = NULL;
	pi->dwProcessId = 1234;
	return TRUE;
}

static DWORD WINAPI
fake_wait(HANDLE h, DWORD ms)
{
	(void)h;
	assert_int_equal(ms, INFINITE);
	return fk.wait_result;
}

static BOOL WINAPI
fake_exit(HANDLE h, LPDWORD code)
{
	(void)h;
	*code = fk.exit_code;
	return fk.exit_ok;
}

/* The value of name (any case) in the block the logon call got, or NULL. */
static const wchar_t *
env_get(const wchar_t *name)
{
	const wchar_t *e, *eq;
	size_t n = wcslen(name);

	for (e = fk.env_copy; *e != L'\0'; e += wcslen(e) + 1) {
		eq = wcschr(e, L'=');
		if (eq != NULL && (size_t)(eq - e) == n && _wcsnicmp(e, name, n) == 0)
			return eq + 1;
	}
	return NULL;
}

/* 1 if the block's names are in order, ignoring case (upper case, ordinal: '_' after the letters). */
static int
env_sorted(void)
{
	const wchar_t *e, *prev = NULL;
	size_t i;

	for (e = fk.env_copy; *e != L'\0'; prev = e, e += wcslen(e) + 1) {
		if (prev == NULL)
			continue;
		for (i = 0;; i++) {
			wchar_t a = prev[i] == L'=' ? 0 : towupper(prev[i]), b = e[i] == L'=' ? 0 : towupper(e[i]);

			if (a != b) {
				if (a > b)
					return 0;
				break;
			}
			if (a == 0)
				return 0; /* the same name twice */
		}
	}
	return 1;
}

static DWORD WINAPI
fake_last_error(void)
{
	return fk.err;
}

static const vault_win_api fake_api = {
	fake_logon, fake_wait, fake_exit, fake_last_error,
};

static void
fake_reset(void)
{
	memset(&fk, 0, sizeof(fk));
	fk.ok = TRUE;
	fk.wait_result = WAIT_OBJECT_0;
	fk.exit_ok = TRUE;
}

static void
make_password(vault_win_password *pw, const char *text)
{
	vault_secret *s;

	assert_int_equal(vault_secret_from(&s, text, strlen(text)), 0);
	assert_int_equal(vault_win_password_from(pw, s), 0);
	vault_secret_free(&s);
}

static void
assert_wiped(const vault_win_password *pw)
{
	size_t i;

	assert_non_null(pw->w);
	for (i = 0; i < pw->cap; i++)
		if (((const unsigned char *)pw->w)[i] != 0)
			fail_msg("password byte %zu of %zu not wiped", i, pw->cap);
}

/* One run through the fakes; returns its exit code, with why. */
static int
launch(const vault_win_run_opts *o, const char *const *argv, size_t argc, char *why,
    size_t whylen, int *started)
{
	char path[MAX_PATH * 3];
	vault_win_pinned pin;
	vault_win_password pw;
	int rc;

	echo_path(path, sizeof(path));
	assert_int_equal(vault_win_program_open(&pin, path, NULL), 0);
	make_password(&pw, "S3cret \xc3\xa9 pass");
	rc = vault_win_run(&fake_api, &pin, argv, argc, o, &pw, started, why, whylen);
	/* The fake kept the pointer: the very buffer it got is all zeros now. */
	if (fk.calls > 0)
		assert_ptr_equal(fk.password_at, pw.w);
	assert_wiped(&pw);
	vault_win_password_free(&pw);
	vault_win_program_close(&pin);
	return rc;
}

static void
run_logon_errors(void **state)
{
	const char *argv[] = { "prog", "a b" };
	vault_win_run_opts o = { .mode = VAULT_WIN_PROFILE, .user = "svc", .domain = "CORP" };
	char why[512];
	size_t i;
	int started;

	(void)state;
	for (i = 0; i < sizeof(logon_cases) / sizeof(logon_cases[0]); i++) {
		fake_reset();
		fk.ok = FALSE;
		fk.err = logon_cases[i].err;
		assert_int_equal(launch(&o, argv, 2, why, sizeof(why), &started), logon_cases[i].exit);
		assert_int_equal(fk.calls, 1);
		assert_int_equal(started, 0);
		if (strstr(why, logon_cases[i].says) == NULL || strstr(why, "S3cret") != NULL)
			fail_msg("error %lu: [%s]", (unsigned long)logon_cases[i].err, why);
	}
}

static void
run_success_and_flags(void **state)
{
	const char *argv[] = { "prog", "a b", "" };
	vault_win_run_opts o = { .mode = VAULT_WIN_PROFILE, .user = "svc", .domain = "CORP" };
	char why[512];
	int started;

	(void)state;
	/* --profile, no --env: LOGON_WITH_PROFILE, no block (the target's default). */
	fake_reset();
	fk.exit_code = 42;
	assert_int_equal(launch(&o, argv, 3, why, sizeof(why), &started), 42);
	assert_int_equal(started, 1);
	assert_string_equal(why, "");
	assert_int_equal(fk.logon_flags, LOGON_WITH_PROFILE);
	assert_null(fk.env);
	assert_int_equal(fk.creation_flags & CREATE_UNICODE_ENVIRONMENT, 0);
	assert_true(wcscmp(fk.user, L"svc") == 0);
	assert_true(wcscmp(fk.domain, L"CORP") == 0);
	assert_true(wcscmp(fk.password, L"S3cret \x00e9 pass") == 0);
	assert_true(wcscmp(fk.cmd, L"\"prog\" \"a b\" \"\"") == 0);
	assert_non_null(wcsstr(fk.app, L"test_winrun_echo.exe"));
	assert_int_equal(fk.cwd_null, 1);

	/* A working directory is passed; "" is the default. */
	fake_reset();
	o.cwd = "C:\\work dir";
	assert_int_equal(launch(&o, argv, 3, why, sizeof(why), &started), 0);
	assert_int_equal(fk.cwd_null, 0);
	assert_true(wcscmp(fk.cwd, L"C:\\work dir") == 0);
	fake_reset();
	o.cwd = "";
	assert_int_equal(launch(&o, argv, 3, why, sizeof(why), &started), 0);
	assert_int_equal(fk.cwd_null, 1);
	o.cwd = NULL;

	/*
	 * --env, a profile run (another account): the caller's block filtered
	 * (winrun.h): PATH, SystemRoot and ComSpec are Windows' own, the
	 * caller's profile and the runtimes' hooks are gone, the rest kept,
	 * the block sorted as CreateProcess wants.
	 */
	{
		static const char caller[] = "Path=C:\\evil;C:\\Windows\0X=1\0=C:=C:\\d\0USERPROFILE=C:\\Users\\me\0"
		    "COR_ENABLE_PROFILING=1\0SystemRoot=C:\\fake\0ComSpec=C:\\evil\\cmd.exe\0zz=\xc3\xa9\0";
		wchar_t sys[MAX_PATH], win[MAX_PATH], want[MAX_PATH + 16];

		assert_true(GetSystemDirectoryW(sys, MAX_PATH) > 0);
		assert_true(GetSystemWindowsDirectoryW(win, MAX_PATH) > 0);
		fake_reset();
		o.env = caller;
		o.envlen = sizeof(caller) - 1;
		assert_int_equal(launch(&o, argv, 3, why, sizeof(why), &started), 0);
		assert_int_not_equal(fk.creation_flags & CREATE_UNICODE_ENVIRONMENT, 0);
		assert_true(env_sorted());
		assert_non_null(env_get(L"X"));
		assert_true(wcscmp(env_get(L"X"), L"1") == 0);
		assert_true(wcscmp(env_get(L"ZZ"), L"\x00e9") == 0);
		assert_true(wcsncmp(env_get(L"PATH"), sys, wcslen(sys)) == 0);
		assert_null(wcsstr(env_get(L"PATH"), L"evil"));
		assert_true(wcscmp(env_get(L"SYSTEMROOT"), win) == 0);
		_snwprintf(want, MAX_PATH + 16, L"%ls\\cmd.exe", sys);
		assert_true(wcscmp(env_get(L"COMSPEC"), want) == 0);
		assert_null(env_get(L"USERPROFILE"));
		assert_null(env_get(L"COR_ENABLE_PROFILING"));
		assert_null(env_get(L""));
		/* SHGetKnownFolderPath answered (wine implements it). */
		assert_non_null(env_get(L"ProgramData"));
		/* A block that is not one: refused before any logon, the password wiped. */
		fake_reset();
		o.envlen = 3; /* "Pat": no NUL, no '=' */
		assert_int_equal(launch(&o, argv, 3, why, sizeof(why), &started), EXIT_VAULT);
		assert_int_equal(fk.calls, 0);
		assert_non_null(strstr(why, "environment cannot be passed"));
	}

	/* --netonly --env: LOGON_NETCREDENTIALS_ONLY and the caller's block as it is (it runs as the caller). */
	fake_reset();
	o.mode = VAULT_WIN_NETONLY;
	o.env = "Path=C:\\mine\0X=1\0=C:=C:\\d\0";
	o.envlen = 26;
	o.domain = NULL;
	fk.exit_code = 0;
	assert_int_equal(launch(&o, argv, 3, why, sizeof(why), &started), 0);
	assert_int_equal(fk.logon_flags, LOGON_NETCREDENTIALS_ONLY);
	assert_non_null(fk.env);
	assert_true(wcscmp(env_get(L"PATH"), L"C:\\mine") == 0);
	assert_true(wcscmp(env_get(L"X"), L"1") == 0);
	assert_null(env_get(L"")); /* the drive entries are cmd.exe's state, never passed */
	assert_null(env_get(L"SystemRoot"));
	assert_int_not_equal(fk.creation_flags & CREATE_UNICODE_ENVIRONMENT, 0);
	o.env = NULL;
	o.envlen = 0;
	assert_int_equal(fk.domain_null, 1);

	/* The wait or the exit code failing after the start: ours, and still wiped. */
	fake_reset();
	fk.wait_result = WAIT_FAILED;
	fk.err = 6;
	assert_int_equal(launch(&o, argv, 3, why, sizeof(why), &started), EXIT_VAULT);
	assert_int_equal(started, 1);
	assert_non_null(strstr(why, "waiting for it failed (error 6)"));
	fake_reset();
	fk.exit_ok = FALSE;
	assert_int_equal(launch(&o, argv, 3, why, sizeof(why), &started), EXIT_VAULT);
}

/*
 * The agent's launcher (vault_win_launcher, what vault-agent.exe hands
 * pipe_agent.c) over the fakes: open() pins the program on a handle and
 * gives its hash; run() logs on as the plan's account, network-only as
 * LOGON_NETCREDENTIALS_ONLY, passes the exit code through and the logon
 * error's words on; a program that is not there is refused before any
 * logon.
 */
static void
launcher_seam(void **state)
{
	char *argv[] = { (char *)(uintptr_t)"echo", (char *)(uintptr_t)"a b", NULL };
	char path[MAX_PATH * 3], why[512];
	unsigned char pin[VAULT_PINBYTES], want[VAULT_PINBYTES];
	vault_pipe_launcher L;
	vault_win_pinned p;
	vault_secret *sec;
	vault_plan plan;
	void *held = NULL;
	int started = -1;

	(void)state;
	echo_path(path, sizeof(path));
	assert_int_equal(vault_win_program_open(&p, path, NULL), 0);
	memcpy(want, p.pin, sizeof(want));
	vault_win_program_close(&p);
	assert_int_equal(vault_secret_from(&sec, "S3cret", 6), 0);
	memset(&plan, 0, sizeof(plan));
	plan.program = path;
	plan.user = (char *)(uintptr_t)"adm";
	plan.domain = (char *)(uintptr_t)"CORP";
	plan.argv = argv;
	plan.argc = 2;
	vault_win_launcher(&L, &fake_api);

	/* A local-account run: LOGON_WITH_PROFILE, the exit code passed through. */
	fake_reset();
	fk.exit_code = 9;
	assert_int_equal(L.open(L.ctx, &plan, &held, pin, why, sizeof(why)), 0);
	assert_non_null(held);
	assert_memory_equal(pin, want, sizeof(pin));
	assert_int_equal(L.run(L.ctx, held, &plan, sec, "C:\\work dir", NULL, 0, &started, why, sizeof(why)), 9);
	assert_true(wcscmp(fk.cwd, L"C:\\work dir") == 0);
	assert_int_equal(started, 1);
	assert_int_equal(fk.logon_flags, LOGON_WITH_PROFILE);
	assert_true(wcscmp(fk.user, L"adm") == 0);
	assert_true(wcscmp(fk.domain, L"CORP") == 0);
	assert_true(wcscmp(fk.password, L"S3cret") == 0);
	assert_true(wcscmp(fk.cmd, L"\"echo\" \"a b\"") == 0);
	assert_null(fk.env);
	/* The held program was let go: it can be opened for writing again. */
	{
		wchar_t wp[MAX_PATH * 3];
		HANDLE h;

		assert_true(MultiByteToWideChar(CP_UTF8, 0, path, -1, wp, MAX_PATH * 3) > 0);
		h = CreateFileW(wp, GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
		assert_true(h != INVALID_HANDLE_VALUE);
		CloseHandle(h);
	}

	/* Network-only, with the caller's environment; a logon refusal says what to do. */
	fake_reset();
	plan.netonly = 1;
	plan.keep_env = 1;
	fk.ok = FALSE;
	fk.err = 1326;
	assert_int_equal(L.open(L.ctx, &plan, &held, pin, why, sizeof(why)), 0);
	assert_int_equal(L.run(L.ctx, held, &plan, sec, NULL, "A=1\0", 4, &started, why, sizeof(why)), EXIT_NOEXEC);
	assert_int_equal(fk.cwd_null, 1);
	assert_int_equal(started, 0);
	assert_int_equal(fk.logon_flags, LOGON_NETCREDENTIALS_ONLY);
	assert_true(wcscmp(env_get(L"A"), L"1") == 0);
	assert_non_null(strstr(why, "vault set"));
	assert_null(strstr(why, "S3cret"));

	/* Opened and let go without a run (a refused release). */
	assert_int_equal(L.open(L.ctx, &plan, &held, pin, why, sizeof(why)), 0);
	L.close(L.ctx, held);

	/* No such program: refused before any logon. */
	fake_reset();
	plan.program = (char *)(uintptr_t)"C:\\no\\such\\program.exe";
	assert_int_equal(L.open(L.ctx, &plan, &held, pin, why, sizeof(why)), VAULT_ERR_NOTFOUND);
	assert_null(held);
	assert_non_null(strstr(why, "program.exe"));
	assert_int_equal(fk.calls, 0);
	vault_secret_free(&sec);
}

static void
run_refused_before_call(void **state)
{
	const char *quote0[] = { "pr\"og", "x" };
	const char *bad8[] = { "prog", "\xff" };
	char longarg[1100];
	const char *toolong[] = { "prog", longarg };
	vault_win_run_opts o = { .mode = VAULT_WIN_PROFILE, .user = "svc" };
	vault_win_run_opts bad = { .mode = 7, .user = "svc" };
	char why[512];
	int started;

	(void)state;
	memset(longarg, 'x', sizeof(longarg) - 1);
	longarg[sizeof(longarg) - 1] = '\0';
	/* Each refused before the logon call: not called, and the password still wiped. */
	fake_reset();
	assert_int_equal(launch(&o, quote0, 2, why, sizeof(why), &started), EXIT_VAULT);
	assert_non_null(strstr(why, "cannot be passed"));
	assert_int_equal(launch(&o, bad8, 2, why, sizeof(why), &started), EXIT_VAULT);
	assert_int_equal(launch(&o, toolong, 2, why, sizeof(why), &started), EXIT_VAULT);
	assert_non_null(strstr(why, "1024"));
	assert_int_equal(launch(&bad, quote0 + 1, 1, why, sizeof(why), &started), EXIT_VAULT);
	assert_int_equal(fk.calls, 0);
	assert_int_equal(started, 0);
}

static void
password_refusals(void **state)
{
	vault_win_password pw = { NULL, 0 };
	vault_secret *s;

	(void)state;
	assert_int_equal(vault_secret_from(&s, "a\0b", 3), 0);
	assert_int_equal(vault_win_password_from(&pw, s), VAULT_ERR_INVAL);
	assert_null(pw.w);
	vault_secret_free(&s);
	assert_int_equal(vault_secret_from(&s, "\xff\xfe", 2), 0);
	assert_int_equal(vault_win_password_from(&pw, s), VAULT_ERR_INVAL);
	vault_secret_free(&s);
	assert_int_equal(vault_win_password_from(&pw, NULL), VAULT_ERR_EMPTY);
	/* The conversion itself: UTF-16, NUL-terminated, the capacity counted in bytes. */
	assert_int_equal(vault_secret_from(&s, "\xc3\xa9\xf0\x9d\x84\x9e", 6), 0);
	assert_int_equal(vault_win_password_from(&pw, s), 0);
	assert_true(wcscmp(pw.w, L"\x00e9\xd834\xdd1e") == 0);
	assert_int_equal(pw.cap, 4 * sizeof(wchar_t));
	vault_secret_free(&s);
	vault_win_password_free(&pw);
	assert_null(pw.w);
	vault_win_password_free(&pw); /* twice is safe */
}

static void
run_real_logon(void **state)
{
	(void)state;
	if (vault_plat_is_wine()) {
		print_message("# skip: wine only stubs CreateProcessWithLogonW (it fails with error 0 "
		    "whatever the account); a real logon needs real Windows and a second account\n");
		SKIP_CASE();
	}
	if (getenv("VAULT_TEST_WIN_USER") == NULL || getenv("VAULT_TEST_WIN_PASSWORD") == NULL) {
		print_message("# skip: set VAULT_TEST_WIN_USER and VAULT_TEST_WIN_PASSWORD (a second "
		    "local account) to run a real logon\n");
		SKIP_CASE();
	}
	{
		const char *argv[] = { "echo", "hello world" };
		vault_win_run_opts o = { .mode = VAULT_WIN_PROFILE, .user = getenv("VAULT_TEST_WIN_USER"),
			.domain = "." };
		char path[MAX_PATH * 3], why[512];
		vault_win_pinned pin;
		vault_win_password pw;
		int started;

		echo_path(path, sizeof(path));
		assert_int_equal(vault_win_program_open(&pin, path, NULL), 0);
		make_password(&pw, getenv("VAULT_TEST_WIN_PASSWORD"));
		assert_int_equal(vault_win_run(vault_win_api_default(), &pin, argv, 2, &o, &pw,
		    &started, why, sizeof(why)), 7);
		assert_wiped(&pw);
		vault_win_password_free(&pw);
		/* A wrong password: 1326 and its message. */
		make_password(&pw, "certainly not the password");
		assert_int_equal(vault_win_run(vault_win_api_default(), &pin, argv, 2, &o, &pw,
		    &started, why, sizeof(why)), EXIT_NOEXEC);
		assert_non_null(strstr(why, "'vault set'"));
		vault_win_password_free(&pw);
		vault_win_program_close(&pin);
	}
}

/*
 * Under wine only: the real CreateProcessWithLogonW is a stub that fails
 * with error 0. This proves the real seam is wired (the call is made, its
 * failure is reported with the "no reason" message, the password is wiped),
 * not that a logon works.
 */
static void
run_wine_stub(void **state)
{
	const char *argv[] = { "echo", "x" };
	vault_win_run_opts o = { .mode = VAULT_WIN_PROFILE, .user = "nobody-vault-test", .domain = ".",
		.env = "A=1\0", .envlen = 4 };
	char path[MAX_PATH * 3], why[512];
	vault_win_pinned pin;
	vault_win_password pw;
	int started = -1;

	(void)state;
	if (!vault_plat_is_wine()) {
		print_message("# skip: this case checks wine's stub; real Windows is run_real_logon\n");
		SKIP_CASE();
	}
	echo_path(path, sizeof(path));
	assert_int_equal(vault_win_program_open(&pin, path, NULL), 0);
	make_password(&pw, "whatever");
	assert_int_equal(vault_win_run(vault_win_api_default(), &pin, argv, 2, &o, &pw, &started,
	    why, sizeof(why)), EXIT_NOEXEC);
	assert_int_equal(started, 0);
	assert_non_null(strstr(why, "gave no reason (error 0"));
	assert_wiped(&pw);
	vault_win_password_free(&pw);
	vault_win_program_close(&pin);
}

/* --- the rotation target, through fakes ---------------------------------- */

static struct tfake {
	DWORD change_status;
	int changes, logons;
	const wchar_t *accept; /* the password LogonUserW accepts now; NULL: none */
	const wchar_t *after;  /* what it accepts after a successful change */
	int old_too;           /* ... and the old one as well */
	int after_done;
	DWORD logon_err;       /* its error otherwise */
	wchar_t domain[64], user[64], oldpw[64], newpw[64], logon_domain[64];
} tf;

static DWORD WINAPI
tfake_change(LPCWSTR domain, LPCWSTR user, LPCWSTR oldpw, LPCWSTR newpw)
{
	tf.changes++;
	wcsncpy(tf.domain, domain != NULL ? domain : L"(null)", 63);
	wcsncpy(tf.user, user, 63);
	wcsncpy(tf.oldpw, oldpw, 63);
	wcsncpy(tf.newpw, newpw, 63);
	if (tf.change_status == 0) {
		tf.accept = tf.after;
		tf.after_done = 1;
	}
	return tf.change_status;
}

static DWORD tf_last;

static BOOL WINAPI
tfake_logon(LPCWSTR user, LPCWSTR domain, LPCWSTR pw, DWORD type, DWORD provider, PHANDLE token)
{
	(void)user;
	(void)provider;
	tf.logons++;
	assert_int_equal(type, LOGON32_LOGON_NETWORK);
	wcsncpy(tf.logon_domain, domain, 63);
	if ((tf.accept != NULL && wcscmp(pw, tf.accept) == 0) ||
	    (tf.old_too && tf.after_done && wcscmp(pw, L"old-Pw-1") == 0)) {
		*token = NULL;
		return TRUE;
	}
	tf_last = tf.logon_err;
	return FALSE;
}

static BOOL WINAPI
tfake_computer(LPWSTR buf, LPDWORD len)
{
	assert_true(*len > 7);
	wcscpy(buf, L"TESTPC");
	*len = 6;
	return TRUE;
}

static DWORD WINAPI
tfake_last_error(void)
{
	return tf_last;
}

static const target_win_api tfake_api = {
	tfake_change, tfake_logon, tfake_computer, tfake_last_error,
};

static void
tfake_reset(DWORD change_status)
{
	memset(&tf, 0, sizeof(tf));
	tf.change_status = change_status;
	tf.accept = L"old-Pw-1";
	tf.after = L"new-Pw-2";
	tf.logon_err = 1326;
}

static int
rotate_change(vault_account *a, char *why, size_t whylen)
{
	vault_rotate_hooks h;
	vault_secret *o, *n;
	int rc;

	memset(&h, 0, sizeof(h));
	target_win_hooks(&h, &tfake_api);
	assert_int_equal(vault_secret_from(&o, "old-Pw-1", 8), 0);
	assert_int_equal(vault_secret_from(&n, "new-Pw-2", 8), 0);
	rc = h.change(h.arg, a, o, n, why, whylen);
	vault_secret_free(&o);
	vault_secret_free(&n);
	return rc;
}

static void
target_change(void **state)
{
	char user[] = "svc", empty[] = "", dom[] = "CORP", why[512];
	vault_account a;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.user = user;
	a.domain = empty;

	/* Success: changed, the new logs on, the old does not; a local account names this computer. */
	tfake_reset(0);
	assert_int_equal(rotate_change(&a, why, sizeof(why)), 0);
	assert_int_equal(tf.changes, 1);
	assert_int_equal(tf.logons, 2);
	assert_true(wcscmp(tf.domain, L"TESTPC") == 0);
	assert_true(wcscmp(tf.user, L"svc") == 0);
	assert_true(wcscmp(tf.oldpw, L"old-Pw-1") == 0 && wcscmp(tf.newpw, L"new-Pw-2") == 0);
	assert_true(wcscmp(tf.logon_domain, L"TESTPC") == 0);

	/* A domain account: its domain. */
	a.domain = dom;
	tfake_reset(0);
	assert_int_equal(rotate_change(&a, why, sizeof(why)), 0);
	assert_true(wcscmp(tf.domain, L"CORP") == 0);

	/* Wrong old password (86), no such user (2221): nothing changed, no logon tried. */
	tfake_reset(86);
	assert_int_equal(rotate_change(&a, why, sizeof(why)), VAULT_ERR_BADPASS);
	assert_non_null(strstr(why, "'CORP\\svc'"));
	assert_int_equal(tf.logons, 0);
	tfake_reset(2221);
	assert_int_equal(rotate_change(&a, why, sizeof(why)), VAULT_ERR_BADPASS);

	/* The policy refuses the new one (2245 NERR_PasswordTooShort). */
	tfake_reset(2245);
	assert_int_equal(rotate_change(&a, why, sizeof(why)), VAULT_ERR_BADPASS);
	assert_non_null(strstr(why, "password policy"));

	/* The network (53): unknown. */
	tfake_reset(53);
	assert_int_equal(rotate_change(&a, why, sizeof(why)), VAULT_ERR_IO);

	/* Changed, but the new password does not log on: "changed, not verified", never BADPASS. */
	tfake_reset(0);
	tf.after = NULL;
	assert_int_equal(rotate_change(&a, why, sizeof(why)), VAULT_ERR_IO);
	assert_non_null(strstr(why, "changed, not verified: the new password does not log on"));
	assert_int_equal(tf.changes, 1);
	/* Changed, and the check cannot run (locked out afterwards). */
	tfake_reset(0);
	tf.after = NULL;
	tf.logon_err = 1909;
	assert_int_equal(rotate_change(&a, why, sizeof(why)), VAULT_ERR_IO);
	assert_non_null(strstr(why, "changed, not verified: cannot check"));
	/* Changed, but the old one still logs on too. */
	tfake_reset(0);
	tf.old_too = 1;
	assert_int_equal(rotate_change(&a, why, sizeof(why)), VAULT_ERR_IO);
	assert_non_null(strstr(why, "the old password still logs on"));
}

static void
target_verify(void **state)
{
	char user[] = "svc", dom[] = "CORP", why[512];
	vault_rotate_hooks h;
	vault_account a;
	vault_secret *pw;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.user = user;
	a.domain = dom;
	memset(&h, 0, sizeof(h));
	target_win_hooks(&h, &tfake_api);
	assert_int_equal(vault_secret_from(&pw, "old-Pw-1", 8), 0);
	tfake_reset(0);
	assert_int_equal(h.verify(h.arg, &a, pw, why, sizeof(why)), 0);
	assert_true(wcscmp(tf.logon_domain, L"CORP") == 0);
	tf.accept = L"other";
	assert_int_equal(h.verify(h.arg, &a, pw, why, sizeof(why)), VAULT_ERR_BADPASS);
	tf.logon_err = 1909;
	assert_int_equal(h.verify(h.arg, &a, pw, why, sizeof(why)), VAULT_ERR_IO);
	assert_non_null(strstr(why, "1909"));
	tf.logon_err = 1907; /* must change: only said for the right password */
	assert_int_equal(h.verify(h.arg, &a, pw, why, sizeof(why)), 0);
	vault_secret_free(&pw);
}

static void
target_real_api(void **state)
{
	(void)state;
	if (vault_plat_is_wine()) {
		print_message("# skip: wine's LogonUserW accepts any password and its "
		    "NetUserChangePassword knows no accounts (2221): the real target needs real "
		    "Windows\n");
		SKIP_CASE();
	}
	{
		char user[] = "no-such-user-vault-test", empty[] = "", why[512];
		vault_account a;
		vault_secret *pw;

		memset(&a, 0, sizeof(a));
		a.user = user;
		a.domain = empty;
		assert_int_equal(vault_secret_from(&pw, "x-Wrong-1", 9), 0);
		/* No such account: it does not log on. */
		assert_int_equal(target_win_verify(NULL, &a, pw, why, sizeof(why)), VAULT_ERR_BADPASS);
		vault_secret_free(&pw);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(quote_commandlinetoargvw),
		cmocka_unit_test(quote_child),
		cmocka_unit_test(pin_share_modes),
		cmocka_unit_test(run_logon_errors),
		cmocka_unit_test(run_success_and_flags),
		cmocka_unit_test(launcher_seam),
		cmocka_unit_test(run_refused_before_call),
		cmocka_unit_test(password_refusals),
		cmocka_unit_test(run_real_logon),
		cmocka_unit_test(run_wine_stub),
		cmocka_unit_test(target_change),
		cmocka_unit_test(target_verify),
		cmocka_unit_test(target_real_api),
	};

	if (vault_lib_init() != 0)
		return 1;
	return cmocka_run_group_tests_name("winrun", tests, NULL, NULL);
}

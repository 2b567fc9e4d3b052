/* SPDX-License-Identifier: ISC */
/*
 * agent_win32.c - vault-agent.exe (issue 16, item 5): keeps one vault
 * unlocked and serves it over the user's named pipe
 * (\\.\pipe\vault-agent-<SID>, pipe_win32.c), as the Unix agent serves
 * its socket. A preview: built and tested under wine only.
 *
 * The shape: the main thread accepts (vault_pipe_accept identifies and
 * judges each client on its first frame) and runs the timers; each
 * accepted connection gets a thread of its own that serves it with
 * vault_pipe_agent_serve (vault/pipe_agent.c, the portable core: the
 * agent's requests, the release policy through vault_service, the
 * back-off, the audit). One mutex guards the vault handle (libvault
 * handles are single-threaded); a second lets one Argon2id derivation
 * run at a time, with the first released meanwhile, so a derivation
 * never stalls a release.
 *
 * MUST rules beyond the core's (vault/pipe_agent.c):
 *  - the pipe is created first-instance only, for our SID alone, local
 *    clients only (vault_pipe_listen): a squatter makes us refuse to
 *    start, never serve under its name;
 *  - a client must send its first frame within FIRST_MS: accept runs on
 *    the main thread, so a silent client delays the next one by at most
 *    that much (it cannot hold the agent);
 *  - at most MAX_CONNS connections are served at once; the next is closed;
 *  - DLLs are loaded from System32 only (no planting beside the .exe or
 *    in the current directory);
 *  - a crash terminates the process at once, before Windows Error
 *    Reporting can dump its memory (not tested: wine has no WER);
 *  - vault run: a RUN's launch ticket is redeemed (LAUNCH) by the process
 *    that ran it, and the agent itself starts the program as the account
 *    (winrun_win32.c's launcher on a pinned handle): the password never
 *    enters vault.exe; the connection's thread waits for the program;
 *  - vault rotate: served in the connection's thread with the vault held
 *    (the `windows` and `command:` targets, target_win32.c): other requests
 *    wait until the target answers; there is no worker process to kill at
 *    a lock;
 *  - after an unlock, rotations a crash left pending are recovered on a
 *    thread of its own (vault_pipe_agent_recover), one at a time, as the
 *    Unix agent's worker recovers them;
 *  - on -k (its stop event), Ctrl-C, Ctrl-Break, logoff or shutdown the
 *    vault is locked (audited) before the process ends; the stop event is
 *    ours alone and made only if its name is free, as the pipe.
 */
#include <windows.h>
#include <process.h>
#include <sddl.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "pipe.h"
#include "platform.h"
#include "target.h"
#include "vault.h"
#include "winrun_win32.h"

#define MAX_CONNS 64
#define FIRST_MS 5000U

static vault_pipe_agent ag;
static vault_pipe_launcher launcher;
static CRITICAL_SECTION mu, kdf_mu;
static volatile LONG nconns;
static volatile LONG stopping;
static unsigned conn_timeout_ms = 60000;

static void
mu_lock(void *ctx)
{
	(void)ctx;
	EnterCriticalSection(&mu);
}

static void
mu_unlock(void *ctx)
{
	(void)ctx;
	LeaveCriticalSection(&mu);
}

static void
kdf_lock(void *ctx)
{
	(void)ctx;
	EnterCriticalSection(&kdf_mu);
}

static void
kdf_unlock(void *ctx)
{
	(void)ctx;
	LeaveCriticalSection(&kdf_mu);
}

/*
 * A crash ends the process here, before Windows Error Reporting's default
 * handler can write a dump of memory that holds the master key (the Unix
 * agent's RLIMIT_CORE 0 and PR_SET_DUMPABLE 0 do the same there).
 */
static LONG WINAPI
on_crash(EXCEPTION_POINTERS *info)
{
	(void)info;
	TerminateProcess(GetCurrentProcess(), 3);
	return EXCEPTION_EXECUTE_HANDLER;
}

static BOOL WINAPI
on_ctrl(DWORD ev)
{
	(void)ev;
	InterlockedExchange(&stopping, 1);
	return TRUE; /* the main loop locks and exits within a second */
}

struct job {
	vault_pipe_conn *c;
	vault_pipe_peer who;
};

static unsigned __stdcall
conn_thread(void *arg)
{
	struct job *j = arg;
	vault_pipe_client cl;
	int rc;

	memset(&cl, 0, sizeof(cl));
	cl.ag = &ag;
	/* Between frames as within them: a connection silent this long is closed. */
	vault_pipe_set_timeout(j->c, conn_timeout_ms);
	rc = vault_pipe_serve(j->c, &j->who, vault_pipe_agent_serve, &cl);
	if (rc != 0 && rc != VAULT_ERR_NOAGENT)
		fprintf(stderr, "vault-agent: connection from pid %lu closed: %s\n", (unsigned long)j->who.pid,
		    vault_strerror(rc));
	vault_pipe_close(j->c);
	free(j);
	InterlockedDecrement(&nconns);
	return 0;
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: vault-agent [--db PATH] [--pipe NAME] [--idle-timeout DURATION]\n"
	    "                   [--max-lifetime DURATION] [--conn-timeout DURATION]\n"
	    "       vault-agent -k [--pipe NAME]\n\n"
	    "Keeps one vault unlocked for a while and serves it to this user's vault\n"
	    "commands over the named pipe \\\\.\\pipe\\vault-agent-<your SID>. It starts\n"
	    "locked; a client unlocks it (a dpapi slot is tried first). Windows preview:\n"
	    "it has no rotation worker yet (rotate with --no-agent).\n\n"
	    "  --db PATH            the vault (default %%LOCALAPPDATA%%\\vault\\vault.db)\n"
	    "  --pipe NAME          another pipe name (tests)\n"
	    "  --idle-timeout D     lock after D unused (default 15m; 0 never)\n"
	    "  --max-lifetime D     lock D after unlocking (default 8h; 0 never)\n"
	    "  --conn-timeout D     close a connection silent for D (default 60s)\n"
	    "  -k                   lock and stop the agent serving the pipe\n"
	    "  -h, --help           this help\n\n"
	    "Durations: 90 (seconds), 15m, 8h, 1d, 1h30m. Ctrl-C, like -k, locks the vault\n"
	    "(audited) and stops.\n");
}

static int
duration_arg(const char *opt, const char *s, uint64_t max, uint32_t *out)
{
	uint64_t v;

	if (parse_duration(s, 1, max, &v) != 0) {
		fprintf(stderr, "vault-agent: %s: '%s' is not a duration (90, 15m, 8h, 1d, 1h30m; at most %llu s)\n",
		    opt, s, (unsigned long long)max);
		return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

/*
 * The agent's stop event, Local\<pipe's last component>-stop: -k sets it.
 * Created for our SID alone, and only if nobody holds the name (as the
 * pipe: a squatter, even another user in our session, makes us refuse to
 * start rather than leave it a way to stop us).
 */
static int
stop_name(char *out, size_t len, const char *pipe_name)
{
	char def[VAULT_PIPE_NAME_MAX];
	const char *base;

	if (pipe_name == NULL) {
		if (vault_pipe_default_name(def) != 0)
			return -1;
		pipe_name = def;
	}
	base = strrchr(pipe_name, '\\');
	base = base != NULL ? base + 1 : pipe_name;
	if (*base == '\0' || snprintf(out, len, "Local\\%s-stop", base) >= (int)len)
		return -1;
	return 0;
}

static HANDLE
stop_event(const char *name)
{
	char self[VAULT_SID_MAX], sddl[VAULT_PIPE_SDDL_MAX];
	SECURITY_ATTRIBUTES sa;
	PSECURITY_DESCRIPTOR sd = NULL;
	HANDLE ev;
	DWORD err;

	if (vault_pipe_self_sid(self) != 0 || vault_pipe_sddl(sddl, sizeof(sddl), self) != 0 ||
	    !ConvertStringSecurityDescriptorToSecurityDescriptorA(sddl, SDDL_REVISION_1, &sd, NULL))
		return NULL;
	memset(&sa, 0, sizeof(sa));
	sa.nLength = sizeof(sa);
	sa.lpSecurityDescriptor = sd;
	ev = CreateEventA(&sa, TRUE, FALSE, name);
	err = GetLastError();
	LocalFree(sd);
	if (ev != NULL && err == ERROR_ALREADY_EXISTS) {
		CloseHandle(ev);
		SetLastError(ERROR_ALREADY_EXISTS);
		return NULL;
	}
	return ev;
}

/* -k: 0 when the agent was told to stop, 1 when none serves the pipe. */
static int
kill_agent(const char *pipe_name)
{
	char name[VAULT_PIPE_NAME_MAX + 16];
	HANDLE ev;

	if (stop_name(name, sizeof(name), pipe_name) != 0) {
		fprintf(stderr, "vault-agent: no pipe name\n");
		return 1;
	}
	if ((ev = OpenEventA(EVENT_MODIFY_STATE, FALSE, name)) == NULL) {
		fprintf(stderr, "vault-agent: no agent serves %s\n",
		    pipe_name != NULL ? pipe_name : "this user's pipe");
		return 1;
	}
	SetEvent(ev);
	CloseHandle(ev);
	return 0;
}

static volatile LONG recovering;

static void
log_recovery(void *arg, const char *account, int result, const char *why)
{
	(void)arg;
	fprintf(stderr, "vault-agent: recovery of '%s': %s (%s)\n", account, vault_rotate_result_name(result), why);
	fflush(stderr);
}

/* After an unlock: the rotations a crash left pending, finished with the vault held. */
static unsigned __stdcall
recover_thread(void *arg)
{
	int rc;

	(void)arg;
	if ((rc = vault_pipe_agent_recover(&ag, log_recovery, NULL)) != 0)
		fprintf(stderr, "vault-agent: recovery at unlock failed: %s\n", vault_strerror(rc));
	fflush(stderr);
	InterlockedExchange(&recovering, 0);
	return 0;
}

static void
recover_if_due(void)
{
	uintptr_t th;
	int pending;

	if (InterlockedCompareExchange(&recovering, 1, 0) != 0)
		return; /* one at a time; the look stays due */
	if ((pending = vault_pipe_agent_recover_due(&ag)) == 0) {
		InterlockedExchange(&recovering, 0);
		return;
	}
	fprintf(stderr, "vault-agent: %d interrupted rotation(s) found; recovering\n", pending);
	fflush(stderr);
	if ((th = _beginthreadex(NULL, 0, recover_thread, NULL, 0, NULL)) == 0) {
		fprintf(stderr, "vault-agent: cannot start the recovery: %s\n", strerror(errno));
		InterlockedExchange(&recovering, 0);
		return;
	}
	CloseHandle((HANDLE)th);
}

int
main(int argc, char **argv)
{
	const char *db_arg = NULL, *pipe_name = NULL;
	char *db = NULL;
	char why[512];
	vault *v = NULL;
	vault_pipe_server *srv = NULL;
	uint32_t idle = 900, life = 28800, conn = 60;
	unsigned audit_told = 0, given = 0; /* given: 1 << CONF_*, the timeouts the command line set */
	struct vault_config conf;
	char cwhy[4400];
	char stop[VAULT_PIPE_NAME_MAX + 16] = "";
	HANDLE stop_ev;
	int i, rc, kill = 0;

	/* DLLs from System32 only: nothing planted beside us or in the current directory. */
	SetDefaultDllDirectories(LOAD_LIBRARY_SEARCH_SYSTEM32);
	/* No crash dialog, no error report, no dump: see on_crash. */
	SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX | SEM_NOOPENFILEERRORBOX);
	SetUnhandledExceptionFilter(on_crash);
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(a, "-k") == 0) {
			kill = 1;
			continue;
		}
		if (strcmp(a, "--db") != 0 && strcmp(a, "--pipe") != 0 && strcmp(a, "--idle-timeout") != 0 &&
		    strcmp(a, "--max-lifetime") != 0 && strcmp(a, "--conn-timeout") != 0) {
			fprintf(stderr, "vault-agent: unknown option '%s'\n", a);
			usage(stderr);
			return 2;
		}
		if (val == NULL) {
			fprintf(stderr, "vault-agent: %s needs a value\n", a);
			return 2;
		}
		i++;
		if (strcmp(a, "--db") == 0)
			db_arg = val;
		else if (strcmp(a, "--pipe") == 0)
			pipe_name = val;
		else if ((strcmp(a, "--idle-timeout") == 0 && duration_arg(a, val, 86400U * 365, &idle) != 0) ||
		    (strcmp(a, "--max-lifetime") == 0 && duration_arg(a, val, 86400U * 365, &life) != 0) ||
		    (strcmp(a, "--conn-timeout") == 0 && duration_arg(a, val, 86400U, &conn) != 0))
			return 2;
		given |= strcmp(a, "--idle-timeout") == 0 ? 1U << CONF_IDLE_TIMEOUT :
		    strcmp(a, "--max-lifetime") == 0 ? 1U << CONF_MAX_LIFETIME :
		    strcmp(a, "--conn-timeout") == 0 ? 1U << CONF_CONN_TIMEOUT : 0;
	}
	if (kill && db_arg != NULL) {
		fprintf(stderr, "vault-agent: -k takes only --pipe\n");
		return 2;
	}
	if (kill)
		return kill_agent(pipe_name);
	/* The config file (config_win32.c): the vault and each timeout the command line did not give. */
	if (config_load(&conf, cwhy, sizeof(cwhy)) != 0) {
		fprintf(stderr, "vault-agent: config: %s\n", cwhy);
		return 1;
	}
	if (((given & (1U << CONF_IDLE_TIMEOUT)) == 0 &&
	    config_duration(&conf, CONF_IDLE_TIMEOUT, 0, 86400U * 365, &idle, cwhy, sizeof(cwhy)) != 0) ||
	    ((given & (1U << CONF_MAX_LIFETIME)) == 0 &&
	    config_duration(&conf, CONF_MAX_LIFETIME, 0, 86400U * 365, &life, cwhy, sizeof(cwhy)) != 0) ||
	    ((given & (1U << CONF_CONN_TIMEOUT)) == 0 &&
	    config_duration(&conf, CONF_CONN_TIMEOUT, 1, 86400U, &conn, cwhy, sizeof(cwhy)) != 0)) {
		fprintf(stderr, "vault-agent: %s\n", cwhy);
		return 2;
	}
	if (db_arg == NULL)
		db_arg = config_get(&conf, CONF_DB);
	if (conn == 0) {
		fprintf(stderr, "vault-agent: --conn-timeout must be at least 1s\n");
		return 2;
	}
	conn_timeout_ms = conn * 1000U;
	if (vault_lib_init() != 0) {
		fprintf(stderr, "vault-agent: cannot initialise libsodium\n");
		return 1;
	}
	if (db_arg != NULL) {
		if (!vault_plat_path_absolute(db_arg)) {
			fprintf(stderr, "vault-agent: the vault's path (--db, or db in %s) must be absolute (C:\\...): "
			    "'%s'\n", conf.path[0] != '\0' ? conf.path : "the config file", db_arg);
			return 2;
		}
		if ((db = strdup(db_arg)) == NULL)
			return 1;
	} else if ((rc = vault_plat_default_path(&db, 0)) != 0) {
		fprintf(stderr, "vault-agent: no default vault (%s): give --db\n", vault_strerror(rc));
		return 1;
	}
	if ((rc = vault_open(&v, db)) != 0) {
		fprintf(stderr, "vault-agent: cannot open %s: %s\n", db, vault_strerror(rc));
		free(db);
		return 1;
	}
	target_install(v); /* the windows rotation target: ROTATE served in the connection's thread */
	if ((rc = vault_pipe_listen(&srv, pipe_name, why, sizeof(why))) != 0) {
		if (rc == VAULT_ERR_EXISTS)
			fprintf(stderr, "vault-agent: another process already holds the pipe (another vault-agent?): "
					"%s\n", why);
		else
			fprintf(stderr, "vault-agent: cannot create the pipe: %s\n", why);
		vault_close(&v);
		free(db);
		return 1;
	}
	if (stop_name(stop, sizeof(stop), pipe_name) != 0 || (stop_ev = stop_event(stop)) == NULL) {
		fprintf(stderr, "vault-agent: cannot create the stop event %s (error %lu%s)\n", stop,
		    (unsigned long)GetLastError(),
		    GetLastError() == ERROR_ALREADY_EXISTS ? ": another process holds the name" : "");
		vault_pipe_server_close(srv);
		vault_close(&v);
		free(db);
		return 1;
	}
	vault_pipe_server_set_timeout(srv, FIRST_MS);
	InitializeCriticalSection(&mu);
	InitializeCriticalSection(&kdf_mu);
	memset(&ag, 0, sizeof(ag));
	ag.v = v;
	ag.db = db;
	ag.idle_timeout = idle;
	ag.max_lifetime = life;
	ag.lock = mu_lock;
	ag.unlock = mu_unlock;
	ag.kdf_lock = kdf_lock;
	ag.kdf_unlock = kdf_unlock;
	/* vault run: the agent starts the program itself (CreateProcessWithLogonW). */
	vault_win_launcher(&launcher, NULL);
	ag.launcher = &launcher;
	SetConsoleCtrlHandler(on_ctrl, TRUE);
	fprintf(stderr, "vault-agent: serving %s (pid %lu)\n", db, (unsigned long)GetCurrentProcessId());
	fflush(stderr);

	while (!stopping && WaitForSingleObject(stop_ev, 0) != WAIT_OBJECT_0) {
		uint32_t next = vault_pipe_agent_tick(&ag, vault_plat_monotonic_ms());

		recover_if_due();

		unsigned lost;

		EnterCriticalSection(&mu);
		lost = ag.audit_failures;
		LeaveCriticalSection(&mu);
		if (lost != audit_told) {
			audit_told = lost;
			fprintf(stderr, "vault-agent: %u lock or unlock audit records could not be written\n", lost);
		}
		vault_pipe_conn *c = NULL;
		vault_pipe_peer who;
		struct job *j;
		uintptr_t th;

		memset(&who, 0, sizeof(who));
		why[0] = '\0';
		rc = vault_pipe_accept(srv, next < 1000 ? (next == 0 ? 1 : next) : 1000, &c, &who, why, sizeof(why));
		if (rc == VAULT_ERR_BUSY && who.pid == 0)
			continue; /* no client this second */
		if (rc != 0) {
			fprintf(stderr, "vault-agent: refused a client (pid %lu): %s\n", (unsigned long)who.pid,
			    why[0] != '\0' ? why : vault_strerror(rc));
			continue;
		}
		if (InterlockedIncrement(&nconns) > MAX_CONNS || (j = calloc(1, sizeof(*j))) == NULL) {
			InterlockedDecrement(&nconns);
			fprintf(stderr, "vault-agent: too many connections; closed pid %lu's\n", (unsigned long)who.pid);
			vault_pipe_close(c);
			continue;
		}
		j->c = c;
		j->who = who;
		th = _beginthreadex(NULL, 0, conn_thread, j, 0, NULL);
		if (th == 0) {
			fprintf(stderr, "vault-agent: cannot start a thread: %s\n", strerror(errno));
			vault_pipe_close(c);
			free(j);
			InterlockedDecrement(&nconns);
			continue;
		}
		CloseHandle((HANDLE)th);
	}
	/* Locked and audited under the mutex: a connection thread may be mid-request. */
	vault_pipe_agent_lock(&ag, "the agent stopped");
	fprintf(stderr, "vault-agent: locked and stopped\n");
	vault_pipe_server_close(srv);
	/* Threads still serving keep the handle: the process ends with them, the key already wiped. */
	return 0;
}

/* SPDX-License-Identifier: ISC */
/*
 * test_platform.c - unit tests for the platform layer (vault/platform.h,
 * issue 16 item 2), the same program on Linux and under wine: process id,
 * user id, the program's own path, a process's parent and terminal (and
 * vault_pid_descends and vault_peer_self built on them), the private
 * exclusive create and fsync that keyfiles use, and what store.c and held.c
 * use: file identity, pread, the held open and create, the trust checks,
 * the private directory and the lock. The Windows-only security-descriptor
 * judge is test_platform_win32.c's.
 *
 * Scratch files go in VAULT_BUILD_ROOT (meson's test environment), named
 * with the process id, and are removed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "internal.h"
#include "platform.h"

/* A process id that no system hands out (Linux pid_max is at most 2^22;
 * Windows ids are multiples of 4). */
#define NO_SUCH_PID 0xfffffffdU

static void
scratch(char *path, size_t len, const char *what)
{
	const char *root = getenv("VAULT_BUILD_ROOT");

	assert_non_null(root);
	snprintf(path, len, "%s/test-platform-%lu-%s.tmp", root, (unsigned long)vault_plat_pid(),
	    what);
	(void)remove(path);
}

static void
pid_is_ours(void **state)
{
	(void)state;
	assert_int_equal(vault_plat_pid(), (uint32_t)getpid());
}

static void
uid_is_known(void **state)
{
	(void)state;
	/* UINT32_MAX is the Win32 side's "token unreadable". */
	assert_int_not_equal(vault_plat_uid(), UINT32_MAX);
	assert_int_equal(vault_plat_uid(), vault_plat_uid());
}

static void
self_exe_names_this_program(void **state)
{
	char exe[4096], small[4];

	(void)state;
	vault_plat_self_exe(exe, sizeof(exe));
	assert_non_null(strstr(exe, "test_platform"));
	/* A buffer too small for the path: no cut path, an empty string. */
	memset(small, 'x', sizeof(small));
	vault_plat_self_exe(small, sizeof(small));
	assert_string_equal(small, "");
}

static void
proc_info_self_and_parent(void **state)
{
	uint32_t self = vault_plat_pid(), ppid = NO_SUCH_PID, pp;
	int tty = -1, t;

	(void)state;
	assert_int_equal(vault_plat_proc_info(self, &ppid, &tty), 0);
	assert_true(tty == 0 || tty == 1);
	assert_int_not_equal(ppid, NO_SUCH_PID);
	assert_int_not_equal(ppid, self);
	/* The chain: we descend from ourselves and from our parent; our parent
	 * does not descend from us. */
	assert_int_equal(vault_pid_descends(self, self), 1);
	if (ppid > 1) {
		assert_int_equal(vault_plat_proc_info(ppid, &pp, &t), 0);
		assert_int_equal(vault_pid_descends(self, ppid), 1);
		assert_int_equal(vault_pid_descends(ppid, self), 0);
	} else {
		print_message("# parent of %lu is %lu: no chain to walk here\n",
		    (unsigned long)self, (unsigned long)ppid);
	}
	assert_int_equal(vault_pid_has_tty(self), tty);
}

static void
proc_info_no_such_process(void **state)
{
	uint32_t ppid = 7;
	int tty = 7;

	(void)state;
	assert_int_equal(vault_plat_proc_info(NO_SUCH_PID, &ppid, &tty), -1);
	assert_int_equal(ppid, 7);
	assert_int_equal(tty, 7);
	assert_int_equal(vault_pid_has_tty(NO_SUCH_PID), 0);
	assert_int_equal(vault_pid_descends(NO_SUCH_PID, vault_plat_pid()), 0);
	assert_int_equal(vault_pid_descends(vault_plat_pid(), NO_SUCH_PID), 0);
}

static void
peer_self_is_us(void **state)
{
	vault_peer peer;
	char exe[sizeof(peer.exe)];

	(void)state;
	vault_peer_self(&peer);
	assert_int_equal(peer.uid, vault_plat_uid());
	assert_int_equal(peer.pid, vault_plat_pid());
	assert_int_equal(peer.direct, 1);
	assert_int_equal(peer.tty, vault_pid_has_tty(peer.pid));
	vault_plat_self_exe(exe, sizeof(exe));
	assert_string_equal(peer.exe, exe);
}

static void
create_private_is_exclusive(void **state)
{
	char path[4096], buf[8];
	FILE *f;
	int fd;

	(void)state;
	scratch(path, sizeof(path), "create");
	fd = vault_plat_create_private(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "secret", 6), 6);
	assert_int_equal(vault_plat_fsync(fd), 0);
	assert_int_equal(close(fd), 0);
	/* Something is there: refused with EEXIST, and left as it was. */
	errno = 0;
	assert_int_equal(vault_plat_create_private(path), -1);
	assert_int_equal(errno, EEXIST);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fread(buf, 1, sizeof(buf), f), 6);
	assert_memory_equal(buf, "secret", 6);
	fclose(f);
	assert_int_equal(remove(path), 0);
	/* A missing directory: refused, not created. */
	scratch(path, sizeof(path), "nodir");
	strcat(path, "/child");
	assert_int_equal(vault_plat_create_private(path), -1);
	assert_int_not_equal(errno, EEXIST);
}

/*
 * A child of ours (through system(): sh on Linux, cmd.exe on Windows, so a
 * grandchild) descends from us and we do not descend from it: the parent
 * chain walked for real on both platforms (under wine this test's own
 * parent is a Unix process, id 0, so only a child shows the chain).
 */
static void
child_descends_from_us(void **state)
{
	char exe[4096], cmd[4200];
	int rc;

	(void)state;
	vault_plat_self_exe(exe, sizeof(exe));
	assert_true(exe[0] != '\0');
	/* No quoting that both sh and cmd.exe read the same way: a path that
	 * needs it is skipped, with the reason. */
	if (strpbrk(exe, " \"'&|<>^%$;()`!") != NULL) {
		print_message("# skip: the test's path needs shell quoting: %s\n", exe);
		skip();
	}
	snprintf(cmd, sizeof(cmd), "%s --child %lu", exe, (unsigned long)vault_plat_pid());
	rc = system(cmd);
	assert_int_equal(rc, 0);
	/* Negative: the same check from a child told a process that is not its
	 * ancestor must fail (exit 3), so a child that passes for any pid is caught. */
	snprintf(cmd, sizeof(cmd), "%s --child %lu", exe, (unsigned long)NO_SUCH_PID);
	rc = system(cmd);
	assert_int_not_equal(rc, 0);
}

/* --child PID: 0 when we descend from PID and PID does not descend from us;
 * 3 when we do not descend from it; 4 when it descends from us. */
static int
child_main(const char *arg)
{
	uint32_t ancestor = (uint32_t)strtoul(arg, NULL, 10);

	if (!vault_pid_descends(vault_plat_pid(), ancestor))
		return 3;
	if (vault_pid_descends(ancestor, vault_plat_pid()))
		return 4;
	return 0;
}

static void
open_nofollow_reads_a_file(void **state)
{
	char path[4096], buf[8];
	int fd;

	(void)state;
	scratch(path, sizeof(path), "nofollow");
	fd = vault_plat_create_private(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "keyfile", 7), 7);
	assert_int_equal(close(fd), 0);
	fd = vault_plat_open_nofollow(path);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, buf, sizeof(buf)), 7);
	assert_memory_equal(buf, "keyfile", 7);
	assert_int_equal(close(fd), 0);
	assert_int_equal(remove(path), 0);
	/* Nothing there: ENOENT (keyslot.c's VAULT_ERR_NOTFOUND). */
	errno = 0;
	assert_int_equal(vault_plat_open_nofollow(path), -1);
	assert_int_equal(errno, ENOENT);
	/* Links (ELOOP) are refused: on Linux by test_keyslot's symlinked
	 * keyfile; wine makes no symlinks (CreateSymbolicLinkW is a stub). */
}

/* Identity, size and type: one file seen through fstat and lstat is one
 * identity; another file is another; a directory is not regular. */
static void
file_identity(void **state)
{
	char a[4096], b[4096];
	vault_file_info fa, la, fb, ld;
	int fd, fd2;

	(void)state;
	scratch(a, sizeof(a), "id-a");
	scratch(b, sizeof(b), "id-b");
	fd = vault_plat_create_held(a);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "0123456789", 10), 10);
	fd2 = vault_plat_create_held(b);
	assert_true(fd2 >= 0);
	assert_int_equal(vault_plat_fstat(fd, &fa), 0);
	assert_int_equal(vault_plat_lstat(a, &la), 0);
	assert_int_equal(vault_plat_fstat(fd2, &fb), 0);
	assert_true(fa.id.dev == la.id.dev && fa.id.ino == la.id.ino);
	assert_false(fa.id.dev == fb.id.dev && fa.id.ino == fb.id.ino);
	assert_int_equal(fa.size, 10);
	assert_int_equal(la.size, 10);
	assert_int_equal(fb.size, 0);
	assert_true(fa.regular && la.regular);
	assert_int_equal(vault_plat_lstat(getenv("VAULT_BUILD_ROOT"), &ld), 0);
	assert_false(ld.regular);
	/* Exclusive: something is there. */
	errno = 0;
	assert_int_equal(vault_plat_create_held(a), -1);
	assert_int_equal(errno, EEXIST);
	assert_int_equal(close(fd), 0);
	assert_int_equal(close(fd2), 0);
	assert_int_equal(remove(a), 0);
	assert_int_equal(remove(b), 0);
	errno = 0;
	assert_int_equal(vault_plat_lstat(a, &la), -1);
	assert_int_equal(errno, ENOENT);
	errno = 0;
	assert_int_equal(vault_plat_open_held(a), -1);
	assert_int_equal(errno, ENOENT);
}

/* pread reads at the offset asked, short at the end, 0 past it, and leaves
 * the descriptor's own offset alone. */
static void
pread_at_offset(void **state)
{
	char path[4096], buf[16];
	int fd;

	(void)state;
	scratch(path, sizeof(path), "pread");
	fd = vault_plat_create_held(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "0123456789", 10), 10);
	assert_int_equal(close(fd), 0);
	fd = vault_plat_open_held(path);
	assert_true(fd >= 0);
	assert_int_equal(vault_plat_pread(fd, buf, 4, 3), 4);
	assert_memory_equal(buf, "3456", 4);
	assert_int_equal(vault_plat_pread(fd, buf, sizeof(buf), 8), 2);
	assert_memory_equal(buf, "89", 2);
	assert_int_equal(vault_plat_pread(fd, buf, sizeof(buf), 100), 0);
	/* The offset did not move: a read starts at 0. */
	assert_int_equal(read(fd, buf, 2), 2);
	assert_memory_equal(buf, "01", 2);
	assert_int_equal(vault_plat_pread(-1, buf, 1, 0), -1);
	assert_int_equal(close(fd), 0);
	assert_int_equal(remove(path), 0);
}

/* The lock is exclusive between two descriptors, and goes with the descriptor. */
static void
lock_is_exclusive(void **state)
{
	char path[4096];
	int fd, a, b;

	(void)state;
	scratch(path, sizeof(path), "lock");
	fd = vault_plat_create_held(path);
	assert_true(fd >= 0);
	assert_int_equal(close(fd), 0);
	a = vault_plat_open_held(path);
	b = vault_plat_open_held(path);
	assert_true(a >= 0 && b >= 0);
	assert_int_equal(vault_plat_lock(a), 0);
	errno = 0;
	assert_int_equal(vault_plat_lock(b), -1);
	assert_int_equal(errno, EWOULDBLOCK);
	assert_int_equal(close(a), 0);
	assert_int_equal(vault_plat_lock(b), 0);
	assert_int_equal(close(b), 0);
	assert_int_equal(remove(path), 0);
}

/* A file we created is trusted, strictly; a directory we made for
 * ourselves is too, and making it again is no error. Refusals of foreign
 * owners and modes are test_store's and test_keyslot's (chmod) on Linux and
 * test_platform_win32's (descriptors) on Windows. */
static void
trust_our_own(void **state)
{
	char path[4096], dir[4096], why[200];
	int fd;

	(void)state;
	scratch(path, sizeof(path), "trust");
	scratch(dir, sizeof(dir), "trust-dir");
	fd = vault_plat_create_held(path);
	assert_true(fd >= 0);
	why[0] = '\0';
	assert_int_equal(vault_plat_trust_fd(fd, 1, why, sizeof(why)), 0);
	assert_int_equal(vault_plat_trust_fd(fd, 0, why, sizeof(why)), 0);
	assert_int_equal(close(fd), 0);
	assert_int_equal(remove(path), 0);
	assert_int_equal(vault_plat_mkdir_private(dir), 0);
	assert_int_equal(vault_plat_mkdir_private(dir), 0);
	assert_int_equal(vault_plat_trust_dir(dir, why, sizeof(why)), 0);
	/* A directory is not a file to trust. */
	fd = vault_plat_open_nofollow(dir);
	if (fd >= 0) {
		assert_int_equal(vault_plat_trust_fd(fd, 1, why, sizeof(why)), VAULT_ERR_PERM);
		assert_non_null(strstr(why, "not a regular file"));
		assert_int_equal(close(fd), 0);
	}
	assert_int_equal(rmdir(dir), 0);
	assert_int_equal(vault_plat_trust_dir(dir, why, sizeof(why)), VAULT_ERR_NOTFOUND);
	assert_non_null(strstr(why, dir));
}

/* name=value through putenv() (mingw has no setenv); value "" is as unset
 * for the default path (not absolute). The strings stay ours: POSIX keeps
 * the pointer. */
static void
put_env(char *slot, size_t len, const char *name, const char *value)
{
	snprintf(slot, len, "%s=%s", name, value);
	assert_int_equal(putenv(slot), 0);
}

/*
 * The default vault path: under a base taken from the environment (POSIX
 * XDG_DATA_HOME; Windows LOCALAPPDATA), its directory made only when asked
 * and then trusted; a relative base or none gives no path.
 */
static void
default_path_made(void **state)
{
	static char env1[4200], env2[4200], env3[4200], env4[4200];
	const char *var = getenv("LOCALAPPDATA") != NULL ? "LOCALAPPDATA" : "XDG_DATA_HOME";
	char base[4096], want[4200], dir[4200], why[300], *old = NULL, *home = NULL, *p = NULL, *full;
	size_t n;

	(void)state;
	if (getenv(var) != NULL)
		assert_non_null(old = strdup(getenv(var)));
	if (getenv("HOME") != NULL)
		assert_non_null(home = strdup(getenv("HOME")));
	scratch(base, sizeof(base), "appdata");
	assert_int_equal(vault_plat_mkdir_private(base), 0);
	/* Absolute in the platform's own terms (under wine, Z:\\... for /...). */
	assert_non_null(full = vault_plat_realpath(base));
	snprintf(base, sizeof(base), "%s", full);
	free(full);
	put_env(env1, sizeof(env1), var, base);
	assert_int_equal(vault_plat_default_path(&p, 0), 0);
	assert_non_null(p);
	/* Under the base, in a directory called vault, named vault.db. */
	assert_memory_equal(p, base, strlen(base));
	n = strlen(p);
	assert_true(n > 15);
	assert_string_equal(p + n - 8, "vault.db");
	assert_memory_equal(p + n - 14, "vault", 5);
	snprintf(dir, sizeof(dir), "%.*s", (int)(n - 9), p);
	if (strcmp(var, "LOCALAPPDATA") == 0) {
		snprintf(want, sizeof(want), "%s\\vault\\vault.db", base);
		assert_string_equal(p, want);
	}
	/* Not made unless asked. */
	assert_int_equal(vault_plat_trust_dir(dir, why, sizeof(why)), VAULT_ERR_NOTFOUND);
	free(p);
	p = NULL;
	assert_int_equal(vault_plat_default_path(&p, 1), 0);
	assert_int_equal(vault_plat_trust_dir(dir, why, sizeof(why)), 0);
	/* The store's own check finds that directory from the path (Windows: backslashes). */
	assert_int_equal(vault_check_dir(p, why, sizeof(why)), 0);
	free(p);
	p = NULL;
	/* A relative base, or none (POSIX falls back to HOME: relative too): nothing. */
	put_env(env2, sizeof(env2), var, "relative/dir");
	put_env(env3, sizeof(env3), "HOME", "relative/home");
	assert_int_equal(vault_plat_default_path(&p, 0), VAULT_ERR_NOTFOUND);
	assert_null(p);
	assert_int_equal(rmdir(dir), 0);
	assert_int_equal(rmdir(base), 0);
	put_env(env4, sizeof(env4), var, old != NULL ? old : "");
	put_env(env3, sizeof(env3), "HOME", home != NULL ? home : "");
	free(old);
	free(home);
}

/*
 * A saved action's program must be absolute (vault_plat_path_absolute):
 * POSIX a leading '/'; Windows a drive letter, a colon and a separator. A
 * UNC name, a drive-relative "C:x" and a rooted "\\x" are not, on Windows.
 */
static void
path_absolute(void **state)
{
	static const char *const never[] = { "", "x", "bin/env", "./env", "C:x", "\\\\srv\\share\\x.exe",
		"\\\\?\\C:\\x.exe", "\\x.exe" };
#ifdef _WIN32
	static const char *const yes[] = { "C:\\windows\\system32\\cmd.exe", "c:/tools/x.exe", "Z:\\" };
	static const char *const no[] = { "/usr/bin/env", "//srv/share/x", "1:\\x", ":\\x" };
#else
	static const char *const yes[] = { "/usr/bin/env", "/", "//srv/x" };
	static const char *const no[] = { "C:\\windows\\system32\\cmd.exe", "c:/tools/x" };
#endif
	size_t i;

	(void)state;
	assert_false(vault_plat_path_absolute(NULL));
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (!vault_plat_path_absolute(yes[i]))
			fail_msg("'%s' should be absolute", yes[i]);
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (vault_plat_path_absolute(no[i]))
			fail_msg("'%s' should not be absolute here", no[i]);
	for (i = 0; i < sizeof(never) / sizeof(never[0]); i++)
		if (vault_plat_path_absolute(never[i]))
			fail_msg("'%s' should not be absolute", never[i]);
}

static void
fsync_bad_descriptor(void **state)
{
	(void)state;
	assert_int_equal(vault_plat_fsync(-1), -1);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pid_is_ours),
		cmocka_unit_test(uid_is_known),
		cmocka_unit_test(self_exe_names_this_program),
		cmocka_unit_test(proc_info_self_and_parent),
		cmocka_unit_test(proc_info_no_such_process),
		cmocka_unit_test(peer_self_is_us),
		cmocka_unit_test(create_private_is_exclusive),
		cmocka_unit_test(open_nofollow_reads_a_file),
		cmocka_unit_test(fsync_bad_descriptor),
		cmocka_unit_test(path_absolute),
		cmocka_unit_test(file_identity),
		cmocka_unit_test(pread_at_offset),
		cmocka_unit_test(lock_is_exclusive),
		cmocka_unit_test(trust_our_own),
		cmocka_unit_test(default_path_made),
		cmocka_unit_test(child_descends_from_us),
	};

	if (argc == 3 && strcmp(argv[1], "--child") == 0)
		return child_main(argv[2]);

	return cmocka_run_group_tests_name("platform", tests, NULL, NULL);
}

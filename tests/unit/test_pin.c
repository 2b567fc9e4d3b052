/* SPDX-License-Identifier: ISC */
/*
 * test_pin.c - unit tests for vault/pin.c: finding a program on PATH and
 * pinning it.
 *
 * A pinned program must run exactly the bytes that were hashed. So the
 * tests hash files independently and compare, swap and rewrite a file
 * after it was opened and check that the descriptor still holds (and
 * runs) the old bytes, run the descriptor with fexecve() in a child, and
 * try the files an attacker would put in a program's place: symlinks,
 * non-executables, directories, FIFOs.
 *
 * Each test gets a fresh 0700 directory from mkdtemp(), removed after.
 * Run as root (as CI does), files made there are owned by root, so both
 * paths are covered: a root-owned 0755 file runs in place, a 0777 one
 * from a sealed memfd. Run as another user, everything made here is a
 * memfd copy, and the in-place path is covered by /bin/true alone.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"
#include "internal.h"

extern char **environ;

struct fx {
	char dir[FX_DIR_MAX];
	char path[PATH_MAX];
};

static int
fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	if (fx_tmpdir(f->dir, NULL, "pin") != 0) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fx *f = *state;
	int rc;

	rc = fx_rmtree(f->dir);
	free(f);
	return rc;
}

/* f->path = dir/name */
static const char *
fx_path(struct fx *f, const char *name)
{
	snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, name);
	return f->path;
}

/* Reads a whole file (or descriptor, from offset 0) into a malloc'd buffer. */
static unsigned char *
slurp_fd(int fd, size_t *len)
{
	unsigned char *p = NULL, *np;
	size_t cap = 0, n = 0;
	ssize_t r;

	for (;;) {
		if (n == cap) {
			cap = cap ? cap * 2 : 65536;
			np = realloc(p, cap);
			assert_non_null(np);
			p = np;
		}
		r = pread(fd, p + n, cap - n, (off_t)n);
		assert_true(r >= 0);
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*len = n;
	return p;
}

static unsigned char *
slurp(const char *path, size_t *len)
{
	unsigned char *p;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	p = slurp_fd(fd, len);
	close(fd);
	return p;
}

static void
hash_bytes(unsigned char out[VAULT_PINBYTES], const unsigned char *p, size_t n)
{
	assert_int_equal(crypto_generichash(out, VAULT_PINBYTES, p, n, NULL, 0), 0);
}

static void
hash_file(unsigned char out[VAULT_PINBYTES], const char *path)
{
	unsigned char *p;
	size_t n;

	p = slurp(path, &n);
	hash_bytes(out, p, n);
	free(p);
}

static void
hash_fd(unsigned char out[VAULT_PINBYTES], int fd)
{
	unsigned char *p;
	size_t n;

	p = slurp_fd(fd, &n);
	hash_bytes(out, p, n);
	free(p);
}

static void
write_file(const char *path, const void *p, size_t n, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, n), (ssize_t)n);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
}

static void
copy_file(const char *from, const char *to, mode_t mode)
{
	unsigned char *p;
	size_t n;

	p = slurp(from, &n);
	write_file(to, p, n, mode);
	free(p);
}

/* What /proc says the descriptor is: "/memfd:vault-pinned (deleted)" or a path. */
static void
fd_target(int fd, char *out, size_t outlen)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, out, outlen - 1);
	assert_true(n > 0);
	out[n] = '\0';
}

static int
is_memfd(int fd)
{
	char t[PATH_MAX];

	fd_target(fd, t, sizeof(t));
	return strncmp(t, "/memfd:", 7) == 0;
}

/* Runs fd with fexecve() in a child; returns its exit status, or -1. */
static int
run_fd(int fd)
{
	char *const argv[] = { (char *)(uintptr_t) "pinned", NULL };
	pid_t pid;
	int status;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		fexecve(fd, argv, environ);
		_exit(120 + (errno & 3));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static const char *
true_path(void)
{
	static char buf[PATH_MAX];

	assert_non_null(realpath("/bin/true", buf));
	return buf;
}

static void
resolve_sh(void **state)
{
	char want[PATH_MAX], *abs = NULL;
	const char *sh = access("/usr/bin/sh", X_OK) == 0 ? "/usr/bin/sh" : "/bin/sh";

	(void)state;
	assert_non_null(realpath(sh, want));
	/* Empty, relative and missing entries are skipped. */
	assert_int_equal(vault_program_resolve(&abs, "sh",
			     "::relative:.:/nonexistent-vault-dir:/usr/bin:/bin"),
	    0);
	assert_non_null(abs);
	assert_string_equal(abs, want);
	assert_true(abs[0] == '/');
	free(abs);
	abs = NULL;
	/* NULL or empty PATH: the default one. */
	assert_int_equal(vault_program_resolve(&abs, "sh", NULL), 0);
	assert_string_equal(abs, want);
	free(abs);
	abs = NULL;
	assert_int_equal(vault_program_resolve(&abs, "sh", ""), 0);
	assert_string_equal(abs, want);
	free(abs);
	abs = NULL;
	/* With a '/', no search: the canonical path of that name. */
	assert_int_equal(vault_program_resolve(&abs, sh, "/nonexistent"), 0);
	assert_string_equal(abs, want);
	free(abs);
}

static void
resolve_missing(void **state)
{
	struct fx *f = *state;
	char *abs = (char *)&abs;
	char pathenv[PATH_MAX * 2], want[PATH_MAX];

	assert_int_equal(vault_program_resolve(&abs, "vault-no-such-program-x", "/usr/bin:/bin"),
	    VAULT_ERR_NOTFOUND);
	assert_null(abs);
	/* Only relative or empty entries: nothing is searched. */
	assert_int_equal(vault_program_resolve(&abs, "sh", "::.:bin:usr/bin"), VAULT_ERR_NOTFOUND);
	assert_null(abs);
	assert_int_equal(vault_program_resolve(&abs, "/nonexistent/sh", NULL), VAULT_ERR_NOTFOUND);
	assert_null(abs);
	assert_int_equal(vault_program_resolve(&abs, "", NULL), VAULT_ERR_INVAL);
	assert_null(abs);

	/* Not executable, or a directory: skipped, and the next entry wins. */
	assert_int_equal(mkdir(fx_path(f, "a"), 0700), 0);
	assert_int_equal(mkdir(fx_path(f, "b"), 0700), 0);
	assert_int_equal(mkdir(fx_path(f, "c"), 0700), 0);
	assert_int_equal(mkdir(fx_path(f, "c/tool"), 0700), 0);
	write_file(fx_path(f, "a/tool"), "x", 1, 0644);
	write_file(fx_path(f, "b/tool"), "#!/bin/sh\n", 10, 0700);
	snprintf(pathenv, sizeof(pathenv), "%s/c:%s/a:%s/b", f->dir, f->dir, f->dir);
	assert_non_null(realpath(fx_path(f, "b/tool"), want));
	assert_int_equal(vault_program_resolve(&abs, "tool", pathenv), 0);
	assert_string_equal(abs, want);
	free(abs);
	snprintf(pathenv, sizeof(pathenv), "%s/c:%s/a", f->dir, f->dir);
	assert_int_equal(vault_program_resolve(&abs, "tool", pathenv), VAULT_ERR_NOTFOUND);
	assert_null(abs);
}

static void
open_true(void **state)
{
	unsigned char pin[VAULT_PINBYTES], want[VAULT_PINBYTES], got[VAULT_PINBYTES];
	char target[PATH_MAX];
	struct stat st;
	int fd = -1;

	(void)state;
	assert_int_equal(vault_program_open(&fd, true_path(), pin), 0);
	assert_true(fd > 2);
	hash_file(want, true_path());
	assert_memory_equal(pin, want, VAULT_PINBYTES);
	hash_fd(got, fd);
	assert_memory_equal(got, want, VAULT_PINBYTES);
	/* Root-owned and not writable by others: the file itself, close-on-exec. */
	assert_int_equal(stat(true_path(), &st), 0);
	if (st.st_uid == 0 && (st.st_mode & 022) == 0) {
		fd_target(fd, target, sizeof(target));
		assert_string_equal(target, true_path());
	}
	assert_true((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
	assert_true((fcntl(fd, F_GETFL) & O_NONBLOCK) == 0);
	assert_int_equal(run_fd(fd), 0);
	close(fd);
}

/* Writable by others: a sealed memfd copy, which later writes do not reach. */
static void
open_writable_copy(void **state)
{
	struct fx *f = *state;
	unsigned char pin[VAULT_PINBYTES], want[VAULT_PINBYTES], got[VAULT_PINBYTES];
	const char *path = fx_path(f, "true");
	struct stat st;
	int fd = -1, seals;

	copy_file(true_path(), path, 0755);
	assert_int_equal(chmod(path, 0777), 0); /* past the umask */
	assert_int_equal(vault_program_open(&fd, path, pin), 0);
	assert_true(is_memfd(fd));
	hash_file(want, path);
	assert_memory_equal(pin, want, VAULT_PINBYTES);
	hash_fd(got, fd);
	assert_memory_equal(got, want, VAULT_PINBYTES);
	seals = fcntl(fd, F_GET_SEALS);
	assert_true(seals >= 0);
	assert_int_equal(seals & (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL),
	    F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0555);
	assert_true((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
	/* The copy is sealed: not even its own read-write descriptor can change it. */
	assert_int_equal(write(fd, "x", 1), -1);

	/* Replace the file's bytes after the open: the descriptor keeps the old ones. */
	write_file(path, "#!/bin/sh\nexit 3\n", 17, 0777);
	hash_fd(got, fd);
	assert_memory_equal(got, pin, VAULT_PINBYTES);
	hash_file(got, path);
	assert_memory_not_equal(got, pin, VAULT_PINBYTES);
	assert_int_equal(run_fd(fd), 0);
	close(fd);
}

/* In place (root-owned, 0755) when run as root; a copy otherwise. Either way it runs. */
static void
open_exec_copy(void **state)
{
	struct fx *f = *state;
	unsigned char pin[VAULT_PINBYTES], want[VAULT_PINBYTES];
	const char *path = fx_path(f, "true");
	int fd = -1;

	copy_file(true_path(), path, 0755);
	assert_int_equal(vault_program_open(&fd, path, pin), 0);
	hash_file(want, path);
	assert_memory_equal(pin, want, VAULT_PINBYTES);
	assert_int_equal(is_memfd(fd), geteuid() != 0);
	assert_int_equal(run_fd(fd), 0);
	close(fd);

	/* Group-writable is as bad as world-writable. */
	assert_int_equal(chmod(path, 0775), 0);
	assert_int_equal(vault_program_open(&fd, path, pin), 0);
	assert_true(is_memfd(fd));
	assert_int_equal(run_fd(fd), 0);
	close(fd);
}

/* A #! script needs /dev/fd/N open across the exec, in place or as a memfd. */
static void
open_script(void **state)
{
	struct fx *f = *state;
	static const char script[] = "#!/bin/sh\nexit 7\n";
	unsigned char pin[VAULT_PINBYTES], want[VAULT_PINBYTES];
	const char *path = fx_path(f, "script");
	int fd = -1;

	write_file(path, script, sizeof(script) - 1, 0755);
	assert_int_equal(vault_program_open(&fd, path, pin), 0);
	hash_bytes(want, (const unsigned char *)script, sizeof(script) - 1);
	assert_memory_equal(pin, want, VAULT_PINBYTES);
	assert_true((fcntl(fd, F_GETFD) & FD_CLOEXEC) == 0);
	assert_int_equal(run_fd(fd), 7);
	close(fd);

	assert_int_equal(chmod(path, 0777), 0);
	assert_int_equal(vault_program_open(&fd, path, pin), 0);
	assert_true(is_memfd(fd));
	assert_memory_equal(pin, want, VAULT_PINBYTES);
	assert_true((fcntl(fd, F_GETFD) & FD_CLOEXEC) == 0);
	/* The script changes after the open: the copy still says exit 7. */
	write_file(path, "#!/bin/sh\nexit 9\n", 17, 0777);
	assert_int_equal(run_fd(fd), 7);
	close(fd);

	/* One byte "#" is not a script marker; "!#" neither. */
	write_file(path, "#", 1, 0755);
	assert_int_equal(vault_program_open(&fd, path, pin), 0);
	assert_true((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
	close(fd);
	write_file(path, "!#/bin/sh\n", 10, 0755);
	assert_int_equal(vault_program_open(&fd, path, pin), 0);
	assert_true((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
	close(fd);
}

static void
open_refused(void **state)
{
	struct fx *f = *state;
	unsigned char pin[VAULT_PINBYTES], zero[VAULT_PINBYTES] = { 0 };
	char path[PATH_MAX];
	int fd = 99;

	/* A symlink, even to a good program. */
	snprintf(path, sizeof(path), "%s", fx_path(f, "link"));
	assert_int_equal(symlink(true_path(), path), 0);
	memset(pin, 0xaa, sizeof(pin));
	assert_int_equal(vault_program_open(&fd, path, pin), VAULT_ERR_SYMLINK);
	assert_int_equal(fd, -1);
	assert_memory_equal(pin, zero, VAULT_PINBYTES);

	/* Not executable by anyone. */
	write_file(fx_path(f, "plain"), "#!/bin/sh\n", 10, 0644);
	assert_int_equal(vault_program_open(&fd, f->path, pin), VAULT_ERR_PERM);
	assert_int_equal(fd, -1);

	/* Not a regular file: a directory, a FIFO (which must not hang us), a device. */
	assert_int_equal(mkdir(fx_path(f, "dir"), 0755), 0);
	assert_int_equal(vault_program_open(&fd, f->path, pin), VAULT_ERR_PERM);
	assert_int_equal(mkfifo(fx_path(f, "fifo"), 0755), 0);
	assert_int_equal(vault_program_open(&fd, f->path, pin), VAULT_ERR_PERM);
	assert_int_equal(vault_program_open(&fd, "/dev/null", pin), VAULT_ERR_PERM);
	assert_int_equal(fd, -1);

	/* Missing. */
	assert_int_equal(vault_program_open(&fd, fx_path(f, "missing"), pin), VAULT_ERR_NOTFOUND);
	assert_int_equal(vault_program_open(&fd, fx_path(f, "plain/x"), pin), VAULT_ERR_NOTFOUND);
	assert_int_equal(vault_program_open(&fd, "", pin), VAULT_ERR_INVAL);
	assert_int_equal(fd, -1);
}

static void
pins_differ(void **state)
{
	struct fx *f = *state;
	unsigned char a[VAULT_PINBYTES], b[VAULT_PINBYTES], c[VAULT_PINBYTES];
	char hexa[2 * VAULT_PINBYTES + 1], hexb[2 * VAULT_PINBYTES + 1];
	char fpath[PATH_MAX];
	int fd;

	assert_int_equal(vault_program_open(&fd, true_path(), a), 0);
	close(fd);
	assert_non_null(realpath("/bin/false", fpath));
	assert_int_equal(vault_program_open(&fd, fpath, b), 0);
	close(fd);
	assert_memory_not_equal(a, b, VAULT_PINBYTES);
	/* One byte apart. */
	write_file(fx_path(f, "x"), "#!/bin/sh\nexit 0\n", 17, 0755);
	assert_int_equal(vault_program_open(&fd, f->path, a), 0);
	close(fd);
	write_file(f->path, "#!/bin/sh\nexit 1\n", 17, 0755);
	assert_int_equal(vault_program_open(&fd, f->path, b), 0);
	close(fd);
	assert_memory_not_equal(a, b, VAULT_PINBYTES);
	/* Same bytes, another path: the same pin (it is of the bytes alone). */
	write_file(fx_path(f, "y"), "#!/bin/sh\nexit 1\n", 17, 0755);
	assert_int_equal(vault_program_open(&fd, f->path, c), 0);
	close(fd);
	assert_memory_equal(b, c, VAULT_PINBYTES);
	/* Empty executable: the hash of nothing. */
	write_file(fx_path(f, "empty"), "", 0, 0755);
	assert_int_equal(vault_program_open(&fd, f->path, c), 0);
	close(fd);
	hash_bytes(a, NULL, 0);
	assert_memory_equal(a, c, VAULT_PINBYTES);

	vault_pin_hex(hexa, a);
	assert_int_equal(strlen(hexa), 2 * VAULT_PINBYTES);
	/* BLAKE2b-256 of the empty string. */
	assert_string_equal(hexa,
	    "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
	memset(b, 0, sizeof(b));
	b[0] = 0xab;
	b[31] = 0x01;
	vault_pin_hex(hexb, b);
	assert_string_equal(hexb,
	    "ab00000000000000000000000000000000000000000000000000000000000001");
}

/* Names too long to be a program, and a program too big to pin. */
static void
open_limits(void **state)
{
	struct fx *f = *state;
	unsigned char pin[VAULT_PINBYTES], zero[VAULT_PINBYTES] = { 0 };
	char *longp, *abs = NULL;
	int fd = 99;

	/* A name past PATH_MAX is refused without a lookup; one past NAME_MAX is nowhere. */
	longp = malloc(PATH_MAX + 2);
	assert_non_null(longp);
	memset(longp, 'a', PATH_MAX + 1);
	longp[PATH_MAX + 1] = '\0';
	assert_int_equal(vault_program_resolve(&abs, longp, "/usr/bin"), VAULT_ERR_TOOBIG);
	assert_null(abs);
	longp[NAME_MAX + 1] = '\0';
	assert_int_equal(vault_program_resolve(&abs, longp, "/usr/bin:/bin"), VAULT_ERR_NOTFOUND);
	assert_null(abs);
	assert_int_equal(vault_program_resolve(&abs, NULL, "/usr/bin"), VAULT_ERR_INVAL);
	free(longp);

	/* Over 1 GiB (a sparse file, so it costs nothing): refused before any read. */
	fd = open(fx_path(f, "huge"), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0700);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)1024 * 1024 * 1024 + 1), 0);
	assert_int_equal(close(fd), 0);
	fd = 99;
	memset(pin, 0xaa, sizeof(pin));
	assert_int_equal(vault_program_open(&fd, f->path, pin), VAULT_ERR_TOOBIG);
	assert_int_equal(fd, -1);
	assert_memory_equal(pin, zero, sizeof(pin));
	/* Exactly 1 GiB of holes would be allowed; we do not read it here. */
	assert_int_equal(vault_program_open(&fd, NULL, pin), VAULT_ERR_INVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(resolve_sh),
		cmocka_unit_test_setup_teardown(resolve_missing, fx_setup, fx_teardown),
		cmocka_unit_test(open_true),
		cmocka_unit_test_setup_teardown(open_writable_copy, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(open_exec_copy, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(open_script, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(open_refused, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(pins_differ, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(open_limits, fx_setup, fx_teardown),
	};

	if (vault_lib_init() != 0)
		return 1;
	return cmocka_run_group_tests_name("pin", tests, NULL, NULL);
}

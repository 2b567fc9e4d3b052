/* SPDX-License-Identifier: ISC */
/*
 * launch_stamp.c - vault-launch's root-only state under /run/vault-launch:
 * the per-account lock that serialises --pam-verify/--pam-change
 * attempts, and the authentication timestamp (below). /run is a tmpfs:
 * everything here is gone at reboot.
 *
 * MUST rules:
 *  1. The directory is made 0700 root if missing, and on every use its
 *     owner (root), mode (0700, no group or other bits) and type are
 *     checked on the opened descriptor (fstat), never by path.
 *  2. Files in it are opened with O_NOFOLLOW relative to that descriptor
 *     and checked the same way: a file that is not a regular file owned
 *     by root with mode 0600 is ignored or refused, never trusted.
 */
#include <errno.h>
#include <fcntl.h>
#include <shadow.h>
#include <sodium.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "launch.h"

int
launch_rundir_open(char *why, size_t whylen)
{
	struct stat st;
	int fd;

	if (mkdir(LAUNCH_RUNDIR, 0700) != 0 && errno != EEXIST) {
		snprintf(why, whylen, "cannot create %s: %s", LAUNCH_RUNDIR, strerror(errno));
		return -1;
	}
	if ((fd = open(LAUNCH_RUNDIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		snprintf(why, whylen, "cannot open %s: %s", LAUNCH_RUNDIR, strerror(errno));
		return -1;
	}
	/* We are setuid, not setgid: what we make would be in the caller's group. */
	if (fchown(fd, 0, 0) != 0) { /* owner and mode are checked with fstat before use */ }
	if (fstat(fd, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != 0 || (st.st_mode & 07777) != 0700) {
		close(fd);
		snprintf(why, whylen, "%s is not a directory owned by root with mode 0700; refusing it", LAUNCH_RUNDIR);
		return -1;
	}
	return fd;
}

int
launch_file_ok(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == 0 && (st.st_mode & 07777) == 0600 &&
	    st.st_nlink == 1;
}

int
launch_attempt_lock(int dirfd, uid_t target, char *why, size_t whylen)
{
	char name[64];
	int fd;

	snprintf(name, sizeof(name), "attempt.%lu.lock", (unsigned long)target);
	if ((fd = openat(dirfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600)) >= 0)
		if (fchown(fd, 0, 0) != 0) { /* owner and mode are checked with fstat before use */ }
	if (fd < 0 || !launch_file_ok(fd)) {
		snprintf(why, whylen, "cannot use the lock %s/%s", LAUNCH_RUNDIR, name);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while (flock(fd, LOCK_EX) != 0) {
		if (errno != EINTR) {
			snprintf(why, whylen, "cannot lock %s/%s: %s", LAUNCH_RUNDIR, name, strerror(errno));
			close(fd);
			return -1;
		}
	}
	return fd;
}

/*
 * The timestamp, as sudo's (plugins/sudoers/timestamp.c) and doas's
 * (timestamp.c): after a successful pam_authenticate through the full
 * stack, a run within its lifetime that presents the same password skips
 * pam_authenticate (the expensive password hash), never account
 * management or the session.
 *
 * One file per caller and target account, "ts.CALLERUID.TARGETUID", of a
 * fixed layout, MACed with a root-only random key ("key"). It holds:
 * when it was made (CLOCK_BOOTTIME: no user can set it, and /run is gone
 * at reboot), a keyed hash of the password, and a digest of the target's
 * shadow entry, so that any change to it (a new password, passwd -l, an
 * expiry date) voids the stamp. A failed authentication deletes it.
 *
 * MUST rules (beyond the directory's above):
 *  3. A stamp counts only if its MAC verifies, every field matches this
 *     run, and now is within [made, made + lifetime) where lifetime is
 *     root's setting now, never a value from the stamp.
 *  4. The key is made with O_EXCL and checked like every file; a key
 *     that is not root's 0600 regular file disables timestamps.
 */

#define STAMP_MAGIC "VLSTAMP1"
#define STAMP_KEYBYTES 32

struct stamp {
	unsigned char magic[8];
	uint64_t caller;
	uint64_t target;
	int64_t made;
	unsigned char name[32];   /* BLAKE2b of the target's name */
	unsigned char pw[32];     /* keyed BLAKE2b of the password */
	unsigned char shadow[32]; /* BLAKE2b of the shadow entry, or zeros */
	unsigned char mac[32];    /* keyed BLAKE2b of everything above */
};

struct launch_stamp_ctx {
	int dirfd;
	unsigned char key[STAMP_KEYBYTES];
	struct stamp want;
	char name[64];
	long lifetime;
};

long
launch_stamp_lifetime(void)
{
	char line[256], *p, *end;
	long v = LAUNCH_STAMP_DEFAULT;
	struct stat st;
	FILE *f;
	int fd;

	if ((fd = open(LAUNCH_CONF, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return errno == ENOENT ? LAUNCH_STAMP_DEFAULT : 0;
	/* Root's file, writable by root alone; else no timestamps at all. */
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022) != 0 ||
	    (f = fdopen(fd, "r")) == NULL) {
		close(fd);
		return 0;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		p = line + strspn(line, " \t");
		if (*p == '#' || *p == '\n' || *p == '\0')
			continue;
		if (strncmp(p, "timestamp_timeout", 17) != 0) {
			v = 0; /* a setting we do not know: fail closed */
			break;
		}
		p += 17;
		p += strspn(p, " \t");
		if (*p++ != '=') {
			v = 0;
			break;
		}
		p += strspn(p, " \t");
		errno = 0;
		v = strtol(p, &end, 10);
		end += strspn(end, " \t\n");
		if (errno != 0 || end == p || *end != '\0' || v < 0 || v > LAUNCH_STAMP_MAX) {
			v = 0;
			break;
		}
	}
	fclose(f);
	return v;
}

static int64_t
boot_seconds(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_BOOTTIME, &ts) != 0)
		return -1;
	return (int64_t)ts.tv_sec;
}

/* The root-only key: made once (O_EXCL), then read and checked. */
static int
load_key(int dirfd, unsigned char key[STAMP_KEYBYTES])
{
	unsigned char fresh[STAMP_KEYBYTES];
	int fd;
	ssize_t n;

	if ((fd = openat(dirfd, "key", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) >= 0) {
		if (fchown(fd, 0, 0) != 0) { /* owner and mode are checked with fstat before use */ }
		randombytes_buf(fresh, sizeof(fresh));
		n = write(fd, fresh, sizeof(fresh));
		sodium_memzero(fresh, sizeof(fresh));
		if (n != (ssize_t)sizeof(fresh) || fsync(fd) != 0) {
			close(fd);
			(void)unlinkat(dirfd, "key", 0);
			return -1;
		}
		close(fd);
	}
	if ((fd = openat(dirfd, "key", O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return -1;
	if (!launch_file_ok(fd) || read(fd, key, STAMP_KEYBYTES) != STAMP_KEYBYTES) {
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static void
stamp_mac(const struct launch_stamp_ctx *c, const struct stamp *s, unsigned char mac[32])
{
	crypto_generichash_state st;
	static const unsigned char ctx[] = "vault-launch stamp mac";

	crypto_generichash_init(&st, c->key, STAMP_KEYBYTES, 32);
	crypto_generichash_update(&st, ctx, sizeof(ctx));
	crypto_generichash_update(&st, (const unsigned char *)s, offsetof(struct stamp, mac));
	crypto_generichash_final(&st, mac, 32);
}

/* A digest of everything in the shadow entry that says whether and until when the account logs on. */
static void
shadow_digest(const char *user, unsigned char out[32])
{
	struct spwd *sp = getspnam(user);
	char buf[1024];
	int n;

	memset(out, 0, 32);
	if (sp == NULL)
		return; /* an account without a local shadow entry (SSSD, LDAP): the lifetime alone */
	n = snprintf(buf, sizeof(buf), "%s:%s:%ld:%ld:%ld:%ld:%ld:%ld:%lu", sp->sp_namp,
	    sp->sp_pwdp ? sp->sp_pwdp : "", sp->sp_lstchg, sp->sp_min, sp->sp_max, sp->sp_warn, sp->sp_inact,
	    sp->sp_expire, sp->sp_flag);
	if (n > 0)
		crypto_generichash(out, 32, (const unsigned char *)buf, (size_t)(n < (int)sizeof(buf) ? n : (int)sizeof(buf) - 1), NULL, 0);
	sodium_memzero(buf, sizeof(buf));
}

launch_stamp_ctx *
launch_stamp_open(uid_t caller, uid_t target, const char *user, const unsigned char *pw, size_t pwlen)
{
	static const unsigned char ctx[] = "vault-launch stamp password";
	launch_stamp_ctx *c;
	crypto_generichash_state st;
	char why[200];
	long lifetime = launch_stamp_lifetime();

	if (lifetime <= 0 || (c = sodium_malloc(sizeof(*c))) == NULL)
		return NULL;
	memset(c, 0, sizeof(*c));
	c->lifetime = lifetime;
	if ((c->dirfd = launch_rundir_open(why, sizeof(why))) < 0) {
		sodium_free(c);
		return NULL;
	}
	if (load_key(c->dirfd, c->key) != 0) {
		close(c->dirfd);
		sodium_free(c);
		return NULL;
	}
	memcpy(c->want.magic, STAMP_MAGIC, 8);
	c->want.caller = caller;
	c->want.target = target;
	crypto_generichash(c->want.name, 32, (const unsigned char *)user, strlen(user), NULL, 0);
	crypto_generichash_init(&st, c->key, STAMP_KEYBYTES, 32);
	crypto_generichash_update(&st, ctx, sizeof(ctx));
	crypto_generichash_update(&st, pw, pwlen);
	crypto_generichash_final(&st, c->want.pw, 32);
	shadow_digest(user, c->want.shadow);
	snprintf(c->name, sizeof(c->name), "ts.%lu.%lu", (unsigned long)caller, (unsigned long)target);
	return c;
}

int
launch_stamp_valid(launch_stamp_ctx *c)
{
	struct stamp s;
	unsigned char mac[32];
	int64_t now = boot_seconds();
	int fd, ok = 0;

	if (c == NULL || now < 0)
		return 0;
	if ((fd = openat(c->dirfd, c->name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return 0;
	if (launch_file_ok(fd) && read(fd, &s, sizeof(s)) == (ssize_t)sizeof(s)) {
		stamp_mac(c, &s, mac);
		ok = sodium_memcmp(mac, s.mac, 32) == 0 && memcmp(s.magic, c->want.magic, 8) == 0 &&
		    s.caller == c->want.caller && s.target == c->want.target &&
		    sodium_memcmp(s.name, c->want.name, 32) == 0 && sodium_memcmp(s.pw, c->want.pw, 32) == 0 &&
		    sodium_memcmp(s.shadow, c->want.shadow, 32) == 0 && now >= s.made && now - s.made < c->lifetime;
	}
	close(fd);
	sodium_memzero(&s, sizeof(s));
	return ok;
}

void
launch_stamp_write(launch_stamp_ctx *c)
{
	struct stamp s;
	char tmp[96];
	unsigned char rnd[8];
	int fd;

	if (c == NULL)
		return;
	s = c->want;
	if ((s.made = boot_seconds()) < 0)
		return;
	stamp_mac(c, &s, s.mac);
	randombytes_buf(rnd, sizeof(rnd));
	snprintf(tmp, sizeof(tmp), "%s.%02x%02x%02x%02x%02x%02x%02x%02x", c->name, rnd[0], rnd[1], rnd[2], rnd[3],
	    rnd[4], rnd[5], rnd[6], rnd[7]);
	if ((fd = openat(c->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
		return;
	if (write(fd, &s, sizeof(s)) != (ssize_t)sizeof(s) || fchown(fd, 0, 0) != 0 || fchmod(fd, 0600) != 0 ||
	    renameat(c->dirfd, tmp, c->dirfd, c->name) != 0)
		(void)unlinkat(c->dirfd, tmp, 0);
	close(fd);
	sodium_memzero(&s, sizeof(s));
}

void
launch_stamp_void(launch_stamp_ctx *c)
{
	if (c != NULL)
		(void)unlinkat(c->dirfd, c->name, 0);
}

void
launch_stamp_close(launch_stamp_ctx **c)
{
	if (c == NULL || *c == NULL)
		return;
	close((*c)->dirfd);
	sodium_memzero(*c, sizeof(**c));
	sodium_free(*c);
	*c = NULL;
}

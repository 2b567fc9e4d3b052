/* SPDX-License-Identifier: ISC */
/*
 * pin.c - program resolution and pinning for saved actions.
 *
 * A saved action stores its program's canonical path and a BLAKE2b-256
 * hash of the program's bytes (the pin). At run time the launcher opens
 * the program once, hashes what it read, compares the hash with the pin
 * and executes that same descriptor with fexecve(), so the bytes that run
 * are the bytes that were checked, not whatever the path names a moment
 * later (DESIGN.md, Release policy).
 *
 * MUST rules:
 *  - MUST open with O_NOFOLLOW and check the opened descriptor (fstat),
 *    never a name: regular file, some execute bit.
 *  - MUST NOT execute a file that someone other than root can change in
 *    place: such a file is copied into a sealed memfd while it is hashed,
 *    and the memfd is what runs. Only a file owned by root that group and
 *    others cannot write (with POSIX ACLs, a named user's or group's
 *    write permission shows up in the group bits) is executed in place,
 *    on a local filesystem: on FUSE, NFS, SMB or 9P the server decides
 *    what each read returns, whatever the owner says.
 *  - MUST hash every byte that is executed, and nothing else.
 *
 * Residual risks, documented rather than fixed here:
 *  - a #! script's interpreter is not pinned, only the script;
 *  - a writer that held the file open before root took it over (chown)
 *    could still change a root-owned file;
 *  - a program run from a memfd sees /proc/self/exe as
 *    "/memfd:vault-pinned (deleted)", which confuses the few programs that
 *    look for their own files next to their binary.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "internal.h"

#define PIN_FILE_MAX (1024ULL * 1024U * 1024U) /* bytes: 1 GiB */
#define PIN_CHUNK (64U * 1024U)
#define PIN_DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"

/* Linux 6.3: ask for an executable memfd when vm.memfd_noexec would not. */
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

/* Filesystems where the server, not the local kernel, decides the bytes. */
static const uint32_t remote_fs[] = {
	0x65735546U, /* FUSE_SUPER_MAGIC */
	0x6969U,     /* NFS_SUPER_MAGIC */
	0xff534d42U, /* CIFS_MAGIC_NUMBER */
	0xfe534d42U, /* SMB2_MAGIC_NUMBER */
	0x01021997U, /* V9FS_MAGIC */
};

static int
errno_to_err(int e)
{
	switch (e) {
	case ENOENT:
	case ENOTDIR:
		return VAULT_ERR_NOTFOUND;
	case ELOOP:
		return VAULT_ERR_SYMLINK;
	case ENOMEM:
		return VAULT_ERR_NOMEM;
	default:
		return VAULT_ERR_IO;
	}
}

/*
 * Searches path_env like execvp() does, except that empty and relative
 * entries are skipped (they mean the current directory, which is nobody's
 * idea of a pinned program) and the result is canonical: symlinks are
 * resolved, so the pinned path names the file itself. *abs is malloc'd;
 * the caller frees it.
 */
int
vault_program_resolve(char **abs, const char *prog, const char *path_env)
{
	const char *dir, *end;
	char *cand = NULL;
	struct stat st;
	size_t plen, dlen;
	int rc = VAULT_ERR_NOTFOUND;

	*abs = NULL;
	if (prog == NULL || prog[0] == '\0')
		return VAULT_ERR_INVAL;
	plen = strnlen(prog, PATH_MAX);
	if (plen >= PATH_MAX)
		return VAULT_ERR_TOOBIG;
	if (strchr(prog, '/') != NULL) {
		if ((*abs = realpath(prog, NULL)) == NULL)
			return errno_to_err(errno);
		return 0;
	}
	if (plen > NAME_MAX)
		return VAULT_ERR_NOTFOUND;
	if (path_env == NULL || path_env[0] == '\0')
		path_env = PIN_DEFAULT_PATH;
	for (dir = path_env;; dir = end + 1) {
		if ((end = strchr(dir, ':')) == NULL)
			end = dir + strlen(dir);
		dlen = (size_t)(end - dir);
		if (dlen > 0 && dir[0] == '/' && dlen < PATH_MAX) {
			/* dlen < PATH_MAX and plen <= NAME_MAX: no overflow. */
			if ((cand = malloc(dlen + 1 + plen + 1)) == NULL)
				return VAULT_ERR_NOMEM;
			memcpy(cand, dir, dlen);
			cand[dlen] = '/';
			memcpy(cand + dlen + 1, prog, plen + 1);
			if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) &&
			    (st.st_mode & 0111) != 0) {
				*abs = realpath(cand, NULL);
				rc = *abs != NULL ? 0 : errno_to_err(errno);
				free(cand);
				return rc;
			}
			free(cand);
			cand = NULL;
		}
		if (*end == '\0')
			break;
	}
	return rc;
}

static int
write_all(int fd, const unsigned char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) < 0) {
			if (errno == EINTR)
				continue;
			return errno == ENOSPC || errno == EFBIG ? VAULT_ERR_FULL : VAULT_ERR_IO;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Executed in place only if nobody but root can change what it holds. */
static int
trusted_in_place(int fd, const struct stat *st)
{
	struct statfs sfs;
	size_t i;

	if (st->st_uid != 0 || (st->st_mode & 022) != 0)
		return 0;
	if (fstatfs(fd, &sfs) != 0)
		return 0;
	for (i = 0; i < sizeof(remote_fs) / sizeof(remote_fs[0]); i++)
		if ((uint32_t)sfs.f_type == remote_fs[i])
			return 0;
	return 1;
}

static int
memfd_new(int *mfd)
{
	*mfd = memfd_create("vault-pinned", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
	if (*mfd < 0 && errno == EINVAL) /* before Linux 6.3: no MFD_EXEC, always executable */
		*mfd = memfd_create("vault-pinned", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	return *mfd < 0 ? errno_to_err(errno) : 0;
}

/*
 * Opens path, hashes it, and returns in *exec_fd a descriptor holding
 * exactly the hashed bytes (see the top of this file). The open adds
 * O_NONBLOCK so that a FIFO put in the program's place cannot hang us;
 * it is cleared again before the descriptor is returned.
 */
int
vault_program_open(int *exec_fd, const char *path, unsigned char pin[VAULT_PINBYTES])
{
	crypto_generichash_state hs;
	unsigned char *buf = NULL, head[2];
	struct stat st;
	size_t headlen = 0;
	uint64_t off = 0;
	ssize_t r;
	int fd = -1, mfd = -1, in_place, fl, rc;

	*exec_fd = -1;
	memset(pin, 0, VAULT_PINBYTES);
	if (path == NULL || path[0] == '\0')
		return VAULT_ERR_INVAL;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)) < 0)
		return errno_to_err(errno);
	if (fstat(fd, &st) != 0) {
		rc = VAULT_ERR_IO;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & 0111) == 0) {
		rc = VAULT_ERR_PERM;
		goto out;
	}
	if (st.st_size < 0 || (uint64_t)st.st_size > PIN_FILE_MAX) {
		rc = VAULT_ERR_TOOBIG;
		goto out;
	}
	if ((fl = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
		rc = VAULT_ERR_IO;
		goto out;
	}
	in_place = trusted_in_place(fd, &st);
	if (!in_place && (rc = memfd_new(&mfd)) != 0)
		goto out;
	if ((buf = malloc(PIN_CHUNK)) == NULL) {
		rc = VAULT_ERR_NOMEM;
		goto out;
	}
	if (crypto_generichash_init(&hs, NULL, 0, VAULT_PINBYTES) != 0) {
		rc = VAULT_ERR_IO;
		goto out;
	}
	/* Read to the end, not to st_size: the file may change meanwhile. */
	for (;;) {
		if ((r = pread(fd, buf, PIN_CHUNK, (off_t)off)) < 0) {
			if (errno == EINTR)
				continue;
			rc = VAULT_ERR_IO;
			goto out;
		}
		if (r == 0)
			break;
		if ((uint64_t)r > PIN_FILE_MAX - off) {
			rc = VAULT_ERR_TOOBIG;
			goto out;
		}
		while (headlen < sizeof(head) && headlen < off + (uint64_t)r) {
			head[headlen] = buf[headlen - off];
			headlen++;
		}
		crypto_generichash_update(&hs, buf, (unsigned long long)r);
		if (mfd >= 0 && (rc = write_all(mfd, buf, (size_t)r)) != 0)
			goto out;
		off += (uint64_t)r;
	}
	crypto_generichash_final(&hs, pin, VAULT_PINBYTES);
	if (mfd >= 0) {
		if (fcntl(mfd, F_ADD_SEALS,
			F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0 ||
		    fchmod(mfd, 0555) != 0) {
			rc = VAULT_ERR_IO;
			goto out;
		}
		close(fd);
		fd = mfd;
		mfd = -1;
	}
	/*
	 * fexecve() of a #! script makes the kernel run the interpreter on
	 * /dev/fd/N, which the interpreter opens after the exec: with
	 * FD_CLOEXEC set, N would be gone by then and the run would fail with
	 * ENOENT. The descriptor is read-only (or a sealed copy), so leaving
	 * it open in the script gives it nothing it could not read anyway.
	 */
	if (headlen == 2 && head[0] == '#' && head[1] == '!') {
		if ((fl = fcntl(fd, F_GETFD)) < 0 || fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC) != 0) {
			rc = VAULT_ERR_IO;
			goto out;
		}
	}
	*exec_fd = fd;
	fd = -1;
	rc = 0;
out:
	if (rc != 0)
		memset(pin, 0, VAULT_PINBYTES);
	sodium_memzero(&hs, sizeof(hs));
	free(buf);
	if (mfd >= 0)
		close(mfd);
	if (fd >= 0)
		close(fd);
	return rc;
}

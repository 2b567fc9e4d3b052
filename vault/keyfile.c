/* SPDX-License-Identifier: ISC */
/*
 * keyfile.c - reading a keyfile (exactly 32 bytes from a private regular
 * file, no link followed) for keyfile and bound slots. Apart from
 * keyslot.c so that the slot format and its KEKs link without the path
 * checks (path.c), which the Windows preview does not build yet: the
 * DPAPI tests use keyslot.c under wine.
 *
 * MUST: the key is wiped on every failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "platform.h"

int
vault_keyfile_read(unsigned char key[VAULT_KEYFILEBYTES], const char *path)
{
	char why[128];
	ssize_t n;
	size_t got = 0;
	int fd, rc;

	/*
	 * No link followed; on POSIX O_NONBLOCK: a FIFO (or a device) named
	 * here must not block the agent in open(); vault_check_fd() then
	 * refuses anything but a regular file, where O_NONBLOCK changes nothing.
	 */
	fd = vault_plat_open_nofollow(path);
	if (fd < 0)
		return errno == ELOOP ? VAULT_ERR_SYMLINK : errno == ENOENT ? VAULT_ERR_NOTFOUND : VAULT_ERR_IO;
	if ((rc = vault_check_fd(fd, 1, why, sizeof(why))) != 0)
		goto out;
	while (got < VAULT_KEYFILEBYTES) {
		n = read(fd, key + got, VAULT_KEYFILEBYTES - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = VAULT_ERR_BADPASS; /* short keyfile: not ours */
			goto out;
		}
		got += (size_t)n;
	}
	{
		unsigned char extra;
		if (read(fd, &extra, 1) != 0)
			rc = VAULT_ERR_BADPASS; /* longer than a keyfile */
	}
out:
	if (rc != 0)
		sodium_memzero(key, VAULT_KEYFILEBYTES);
	close(fd);
	return rc;
}

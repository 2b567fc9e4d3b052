/* SPDX-License-Identifier: ISC */
/*
 * held.c - the descriptors this process opened on vault files, and the
 * checked open that makes them (O_NOFOLLOW, owner, mode, type), through
 * the platform layer (platform.h: on Windows the held handle also keeps
 * the file from being renamed, deleted or replaced).
 *
 * MUST rule (store.c's, issue 12): no descriptor of a vault file that we
 * opened is ever closed while an SQLite connection of this process may
 * have that file open. POSIX locks belong to the process, and closing any
 * one descriptor of a file drops all of them, SQLite's included; another
 * process would then think itself alone and delete the WAL on close. So
 * every descriptor goes into the table below and only
 * vault_held_release() closes it, once no handle has that inode open.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "platform.h"

/*
 * Descriptors we opened on vault files, kept until no handle of this
 * process has that inode open any more (see the MUST rule in store.c). A
 * released descriptor stays open while another handle on the same inode
 * is live, and all of them are closed together after the last one's
 * SQLite connection is gone. A fixed table: registering must not fail
 * for want of memory.
 */
#define HELD_MAX 64

static struct held_fd {
	vault_file_id id;
	int fd; /* -1: slot free */
	int live;
} held[HELD_MAX];
static int held_ready;
static pthread_mutex_t held_mu = PTHREAD_MUTEX_INITIALIZER;

static void
held_init(void)
{
	if (!held_ready) {
		for (size_t i = 0; i < HELD_MAX; i++)
			held[i].fd = -1;
		held_ready = 1;
	}
}

/*
 * Takes fd (a descriptor on the vault file whose stat is st) into the
 * table; from now on only vault_held_release() closes it. VAULT_ERR_TOOBIG
 * when the table is full: fd is then closed only if no other handle of
 * ours has that inode, and otherwise left open on purpose.
 */
int
vault_held_take(int fd, const vault_file_id *id)
{
	size_t i;
	int same = 0;

	pthread_mutex_lock(&held_mu);
	held_init();
	for (i = 0; i < HELD_MAX; i++) {
		if (held[i].fd >= 0 && held[i].id.dev == id->dev && held[i].id.ino == id->ino)
			same = 1;
	}
	for (i = 0; i < HELD_MAX; i++) {
		if (held[i].fd < 0) {
			held[i].id = *id;
			held[i].fd = fd;
			held[i].live = 1;
			pthread_mutex_unlock(&held_mu);
			return 0;
		}
	}
	/* Safe: no SQLite connection of ours can have this inode open. */
	if (!same)
		close(fd);
	pthread_mutex_unlock(&held_mu);
	return VAULT_ERR_TOOBIG;
}

/*
 * Gives fd back. Call only after this handle's SQLite connection is
 * closed. Closes every descriptor on that inode once none is live: at
 * that moment no connection of this process has the file open, so no
 * lock of ours can be dropped by it.
 */
void
vault_held_release(int fd)
{
	size_t i;
	vault_file_id id = { 0, 0 };
	int found = 0, live = 0;

	if (fd < 0)
		return;
	pthread_mutex_lock(&held_mu);
	held_init();
	for (i = 0; i < HELD_MAX; i++) {
		if (held[i].fd == fd && held[i].live) {
			held[i].live = 0;
			id = held[i].id;
			found = 1;
			break;
		}
	}
	if (found) {
		for (i = 0; i < HELD_MAX; i++)
			if (held[i].fd >= 0 && held[i].live && held[i].id.dev == id.dev && held[i].id.ino == id.ino)
				live = 1;
		for (i = 0; i < HELD_MAX && !live; i++) {
			if (held[i].fd >= 0 && held[i].id.dev == id.dev && held[i].id.ino == id.ino) {
				close(held[i].fd);
				held[i].fd = -1;
			}
		}
	}
	pthread_mutex_unlock(&held_mu);
}

/*
 * Opens path for our own checks (O_NOFOLLOW, read-only) and checks owner,
 * mode and type on the descriptor. On success *fdp is open and *st filled.
 */
int
vault_open_checked(vault *v, const char *path, int *fdp, vault_file_info *st)
{
	char why[200];
	int fd, rc;

	*fdp = -1;
	fd = vault_plat_open_held(path);
	if (fd < 0) {
		rc = errno == ELOOP ? VAULT_ERR_SYMLINK : errno == ENOENT ? VAULT_ERR_NOTFOUND : VAULT_ERR_IO;
		vault_detail(v, "%s: %s", path,
		    rc == VAULT_ERR_SYMLINK ? "is a symbolic link; give the real path" :
		    rc == VAULT_ERR_NOTFOUND ? "no vault here; create one with 'vault init'" :
					       strerror(errno));
		return rc;
	}
	if (vault_plat_fstat(fd, st) != 0) {
		vault_detail(v, "%s: %s", path, strerror(errno));
		/* Cannot say which file it is; with no identity, nothing else of ours can match it. */
		close(fd);
		return VAULT_ERR_IO;
	}
	if ((rc = vault_check_fd(fd, 1, why, sizeof(why))) != 0) {
		vault_detail(v, "%s: %s", path, why);
		/*
		 * Another handle of ours may have this file open (it was fine
		 * then): through the table, it is closed only if none has.
		 */
		if (vault_held_take(fd, &st->id) == 0)
			vault_held_release(fd);
		return rc;
	}
	if ((rc = vault_held_take(fd, &st->id)) != 0) {
		vault_detail(v, "%s: too many vault handles open in this process", path);
		return rc;
	}
	*fdp = fd;
	return 0;
}

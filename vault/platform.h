/* SPDX-License-Identifier: ISC */
/*
 * platform.h - the platform layer (issue 16, item 2): the operating-system calls that
 * libvault's ported files make, behind one small interface with a POSIX
 * (platform_posix.c) and a Win32 (platform_win32.c) implementation. meson
 * builds exactly one of them; callers have no #ifdef. Decisions (what a
 * parent chain or a terminal means for a release) stay in the shared code.
 *
 * Started with what peer.c, unlock.c, keyslot.c and buf.c need; store.c,
 * path.c, held.c and rotate.c (trust checks, flock, pread) come next.
 */
#ifndef VAULT_PLATFORM_H
#define VAULT_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

/*
 * The caller's user id. POSIX: getuid(). Windows: a placeholder, the last
 * sub-authority (RID) of the process token's user SID, or UINT32_MAX when the
 * token cannot be read: Windows identities are SIDs, and the wire will carry
 * them with the named-pipe agent (issue 16, item 5). Nothing on Windows
 * decides on it yet (there is no agent there).
 */
uint32_t vault_plat_uid(void);

/* The caller's process id. */
uint32_t vault_plat_pid(void);

/* The running program's path into buf (len > 0), NUL-terminated; "" when
 * it cannot be found. */
void vault_plat_self_exe(char *buf, size_t len);

/*
 * pid's parent into *ppid and whether it has a terminal into *tty (POSIX: a
 * controlling terminal, from /proc/PID/stat; Windows: a console on standard
 * input, known only for the caller itself: 0 for any other process, the
 * stricter answer). Returns 0, or -1 when pid cannot be read (gone, no
 * permission). Windows: *ppid is 0 when the recorded parent has exited or
 * was started after pid (its id was reused), so a chain never crosses into
 * an unrelated process.
 */
int vault_plat_proc_info(uint32_t pid, uint32_t *ppid, int *tty);

/*
 * Creates path for writing, only if nothing is there (no link is followed:
 * an existing link, even dangling, is EEXIST), readable and writable by the
 * owner alone, not inherited by children. Returns a descriptor, or -1 with
 * errno set (EEXIST when something is there).
 */
int vault_plat_create_private(const char *path);

/* pthread_atfork(): handlers around fork(). Windows has no fork: nothing to
 * register (winpthreads' pthread_atfork is an empty macro). 0 or an error. */
int vault_plat_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void));

/*
 * Opens path read-only for the caller's own checks, never through a link:
 * POSIX O_NOFOLLOW (and O_NONBLOCK, so a FIFO named here cannot block the
 * open; the caller's vault_check_fd() refuses anything but a regular file).
 * Windows: the file itself with FILE_FLAG_OPEN_REPARSE_POINT, refused if it
 * is a reparse point (symlink, junction, mount point), shared for reading
 * only, so nobody writes, renames or deletes it while the descriptor is
 * held. Returns a descriptor, or -1 with errno: ELOOP for a link or reparse
 * point, ENOENT when nothing is there.
 */
int vault_plat_open_nofollow(const char *path);

/* Flushes fd's data and metadata to stable storage: fsync(), or
 * FlushFileBuffers through _commit() on Windows. 0 or -1 with errno. */
int vault_plat_fsync(int fd);

#endif

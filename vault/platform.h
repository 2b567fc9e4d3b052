/* SPDX-License-Identifier: ISC */
/*
 * platform.h - the platform layer (issue 16, item 2): the operating-system calls that
 * libvault's ported files make, behind one small interface with a POSIX
 * (platform_posix.c) and a Win32 (platform_win32.c) implementation. meson
 * builds exactly one of them; callers have no #ifdef. Decisions (what a
 * parent chain or a terminal means for a release) stay in the shared code.
 *
 * Started with what peer.c, unlock.c, keyslot.c and buf.c need; then what
 * store.c and held.c need (the vault file's checked open and create, its
 * identity, pread, the owner and access trust checks, a private directory)
 * and the lock rotate.c will take.
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

/*
 * A clock in milliseconds that only moves forward (POSIX CLOCK_MONOTONIC,
 * Windows GetTickCount64): for timeouts, never for timestamps.
 */
int64_t vault_plat_monotonic_ms(void);

/* Sleeps ms milliseconds (at least; a signal does not cut it short). */
void vault_plat_sleep_ms(uint32_t ms);

/* The running program's path into buf (len > 0), NUL-terminated; "" when
 * it cannot be found. */
void vault_plat_self_exe(char *buf, size_t len);

/*
 * Process pid's program into buf (len > 0), for the audit log and the
 * agent's messages, never for a decision: POSIX /proc/PID/exe, or
 * "[comm]" when the kernel does not show it (another uid, a process that is
 * not dumpable); Windows QueryFullProcessImageName, or "[?]" when the
 * process cannot be opened. Always NUL-terminated.
 */
void vault_plat_proc_exe(uint32_t pid, char *buf, size_t len);

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
 * owner alone (POSIX 0600; Windows a protected DACL for the user alone), not
 * inherited by children. Returns a descriptor, or -1 with errno set (EEXIST
 * when something is there).
 */
int vault_plat_create_private(const char *path);

/* pthread_atfork(): handlers around fork(). Windows has no fork: nothing to
 * register (winpthreads' pthread_atfork is an empty macro). 0 or an error. */
int vault_plat_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void));

/*
 * Opens path read-only for the caller's own checks, never through a link:
 * POSIX O_NOFOLLOW (and O_NONBLOCK, so a FIFO named here cannot block the
 * open; the caller's vault_check_fd() refuses anything but a regular file).
 * Windows: the file itself with FILE_FLAG_OPEN_REPARSE_POINT (and
 * FILE_FLAG_BACKUP_SEMANTICS, so a directory opens for the caller to refuse
 * as no regular file), refused if it is a reparse point (symlink, junction,
 * mount point), shared for reading only, so nobody writes, renames or deletes it while the descriptor is
 * held. Returns a descriptor, or -1 with errno: ELOOP for a link or reparse
 * point, ENOENT when nothing is there.
 */
int vault_plat_open_nofollow(const char *path);

/* Flushes fd's data and metadata to stable storage: fsync(), or
 * FlushFileBuffers through _commit() on Windows. 0 or -1 with errno. */
int vault_plat_fsync(int fd);

/*
 * A file's identity, stable while the file exists: POSIX st_dev and st_ino;
 * Windows the volume serial number and the 64-bit file index
 * (GetFileInformationByHandle).
 */
typedef struct vault_file_id {
	uint64_t dev;
	uint64_t ino;
} vault_file_id;

/* What the store asks of a file: its identity, size and whether it is a
 * regular file (Windows: neither a directory nor a reparse point). */
typedef struct vault_file_info {
	vault_file_id id;
	int64_t size;
	int regular;
	int dir; /* a directory itself (Windows: not a reparse point) */
	uint32_t nlink; /* 0: deleted while open */
} vault_file_info;

/* The facts of open descriptor fd (fstat). 0, or -1 with errno. */
int vault_plat_fstat(int fd, vault_file_info *fi);

/*
 * The facts of path itself, never through a link (lstat; Windows: opened
 * with FILE_FLAG_OPEN_REPARSE_POINT, no access asked, every share mode
 * given, closed at once: no lock of SQLite's rides on such a handle, and a
 * reparse point is not regular). 0, or -1 with errno.
 */
int vault_plat_lstat(const char *path, vault_file_info *fi);

/* pread(): up to len bytes at off, without moving fd's offset (Windows:
 * ReadFile with an OVERLAPPED offset). Bytes read, or -1 with errno. */
long long vault_plat_pread(int fd, void *buf, size_t len, uint64_t off);

/*
 * The descriptor held on a vault file while SQLite has it open: read-only,
 * never through a link (POSIX O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, exactly as
 * held.c always opened it). Windows: FILE_FLAG_OPEN_REPARSE_POINT, a
 * reparse point refused (ELOOP), shared for reading and writing (SQLite's
 * own opens) but not for deletion, so while it is held the file can be
 * neither renamed nor deleted, nor replaced by another under its name
 * (SQLite's NOFOLLOW does nothing there). -1 with errno as
 * vault_plat_open_nofollow().
 */
int vault_plat_open_held(const char *path);

/*
 * Creates a new vault file at path, only if nothing is there (no link
 * followed), for the owner alone: POSIX O_EXCL | O_NOFOLLOW, mode 0600;
 * Windows CREATE_NEW with a protected DACL granting the user alone, shared
 * as vault_plat_open_held(). A descriptor to hold, or -1 with errno
 * (EEXIST when something is there).
 */
int vault_plat_create_held(const char *path);

/*
 * Whether an open file may be trusted (vault_check_fd): a regular file owned
 * by the caller, and nobody else may write to it, or (strict) have any
 * access to it at all. POSIX: st_uid is geteuid(), mode & 022 (strict:
 * 077) is 0. Windows: the owner SID is the caller's and the DACL grants no
 * other SID (but SYSTEM and Administrators, the root of Windows) anything
 * (strict) or any right that changes the file. Returns 0, VAULT_ERR_IO or
 * VAULT_ERR_PERM with the reason in why.
 */
int vault_plat_trust_fd(int fd, int strict, char *why, size_t whylen);

/* The same judgement for directory dir, which nobody else may write to
 * (create, rename or delete entries in). 0, VAULT_ERR_NOTFOUND,
 * VAULT_ERR_IO or VAULT_ERR_PERM with the reason in why. */
int vault_plat_trust_dir(const char *dir, char *why, size_t whylen);

/*
 * Creates directory dir for the owner alone, if it is not there: POSIX
 * mkdir(dir, 0700); Windows CreateDirectoryW with a protected DACL
 * granting the user alone (inherited by what is created in it). 0 when
 * made or already there (EEXIST is not an error), -1 with errno.
 */
int vault_plat_mkdir_private(const char *dir);

/* pwrite(): len bytes at off (Windows: WriteFile with an OVERLAPPED offset,
 * the file pointer put back). Bytes written, or -1 with errno. */
long long vault_plat_pwrite(int fd, const void *buf, size_t len, uint64_t off);

/*
 * Opens or creates path for reading and writing, never through a link:
 * POSIX O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
 * mode 0600 (the audit state file's and the rotation lock's open: a
 * terminal planted at the name never becomes the agent's controlling
 * terminal, a FIFO never blocks it); Windows OPEN_ALWAYS with
 * FILE_FLAG_OPEN_REPARSE_POINT (a reparse point refused, ELOOP) and, when
 * created, a protected DACL for the user alone. The caller checks it with
 * vault_plat_trust_fd(). A descriptor, or -1 with errno.
 */
int vault_plat_open_rw(const char *path);

/* The absolute path of path into a malloc()ed string (realpath(); Windows
 * _fullpath(), which resolves no links), or NULL with errno. */
char *vault_plat_realpath(const char *path);

/*
 * Sends msg to the system's log as a witness no file rollback reaches:
 * POSIX syslog(LOG_AUTHPRIV | LOG_NOTICE); Windows the Application event
 * log, source "vault" (ReportEventA, best effort).
 */
void vault_plat_witness(const char *msg);

/*
 * The default vault file into *out (malloc()ed), its directory made for the
 * user alone when create is set. POSIX: vault_default_path() from
 * XDG_DATA_HOME or HOME ($XDG_DATA_HOME/vault/vault.db,
 * ~/.local/share/vault/vault.db), parents made 0700 (vault_mkdir_parent).
 * Windows: %LOCALAPPDATA%\vault\vault.db, the directory created with a
 * protected DACL for the user alone (vault_plat_mkdir_private); an existing
 * one is left as it is, for vault_check_dir to judge. 0,
 * VAULT_ERR_NOTFOUND (no absolute base in the environment), VAULT_ERR_NOMEM
 * or VAULT_ERR_IO.
 */
int vault_plat_default_path(char **out, int create);

/*
 * An exclusive lock on the whole of fd's file, without waiting: POSIX
 * flock(LOCK_EX | LOCK_NB), Windows LockFileEx(LOCKFILE_EXCLUSIVE_LOCK |
 * LOCKFILE_FAIL_IMMEDIATELY). Released when fd is closed. 0, or -1 with
 * errno (EWOULDBLOCK when another holds it).
 */
int vault_plat_lock(int fd);

/*
 * Whether path is absolute, as a saved action's program must be (the agent
 * runs elsewhere than its client: nothing relative means the same there):
 * POSIX a leading '/'; Windows a drive letter, a colon and a separator
 * ("C:\\..." or "C:/..."). A UNC name (\\server\share) is not: its bytes
 * are the server's to decide, as a network filesystem's are on POSIX.
 */
int vault_plat_path_absolute(const char *path);

/*
 * Flushes the file (dir 0) or directory (dir 1) at path to stable storage,
 * by name, never through a link: POSIX open(O_NOFOLLOW) and fsync();
 * Windows FlushFileBuffers on the file, and nothing for a directory (NTFS
 * journals its entries; vault_plat_rename() writes through). Only for a
 * file no SQLite connection of ours has open. 0, or -1 with errno.
 */
int vault_plat_sync_path(const char *path, int dir);

/*
 * Gives file from the name to, never replacing what is there unless replace
 * is set: POSIX rename(), or (no replace) link() then unlink(from), which
 * fails with EEXIST if to appeared meanwhile; Windows MoveFileExW with
 * MOVEFILE_WRITE_THROUGH (and MOVEFILE_REPLACE_EXISTING). 0, or -1 with
 * errno (EEXIST when to exists and replace is not set).
 */
int vault_plat_rename(const char *from, const char *to, int replace);

/*
 * 1 when this Windows program runs under wine (its ntdll exports
 * wine_get_version), 0 otherwise and on POSIX. Nothing decides on it but
 * tests: a claim wine cannot show (logons, DACLs, DPAPI's secrecy) is
 * skipped under wine with that reason, never passed falsely.
 */
int vault_plat_is_wine(void);

#endif

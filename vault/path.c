/* SPDX-License-Identifier: ISC */
/*
 * path.c - where the vault lives and whether its file can be trusted.
 *
 * A vault file is trusted only if it is a regular file owned by the
 * caller with no group or other permissions, in a directory owned by the
 * caller that nobody else can write to (so nobody else can swap the file
 * between our checks and SQLite's open). Checks are made with fstat() on
 * descriptors we opened with O_NOFOLLOW, never with stat() on a name; they
 * are the platform layer's (vault_plat_trust_fd, vault_plat_trust_dir),
 * called through held.c's vault_check_fd and vault_check_dir.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "internal.h"
#include "platform.h"

int
vault_default_path(char **out, const char *xdg_data_home, const char *home)
{
	const char *base, *suffix;
	size_t len;

	*out = NULL;
	if (xdg_data_home != NULL && xdg_data_home[0] == '/') {
		base = xdg_data_home;
		suffix = "/vault/vault.db";
	} else if (home != NULL && home[0] == '/') {
		base = home;
		suffix = "/.local/share/vault/vault.db";
	} else {
		return VAULT_ERR_NOTFOUND;
	}
	len = strlen(base) + strlen(suffix) + 1;
	if ((*out = malloc(len)) == NULL)
		return VAULT_ERR_NOMEM;
	snprintf(*out, len, "%s%s", base, suffix);
	return 0;
}

int
vault_sock_path(char **out, const char *env_sock, const char *xdg_runtime, unsigned long uid)
{
	return vault_sock_path_home(out, env_sock, xdg_runtime, NULL, uid);
}

int
vault_sock_path_home(char **out, const char *env_sock, const char *xdg_runtime, const char *home,
    unsigned long uid)
{
	char buf[4096], run[64], tmp[64];
	struct stat st;
	int n;

	*out = NULL;
	/*
	 * Cron and `env -i` start jobs without XDG_RUNTIME_DIR; the login
	 * session's agent is still in /run/user/UID, so look there before
	 * falling back to /tmp.
	 */
	snprintf(run, sizeof(run), "/run/user/%lu", uid);
	if ((xdg_runtime == NULL || xdg_runtime[0] != '/') && lstat(run, &st) == 0 && S_ISDIR(st.st_mode) &&
	    st.st_uid == uid)
		xdg_runtime = run;
	if (env_sock != NULL && *env_sock != '\0')
		n = snprintf(buf, sizeof(buf), "%s", env_sock);
	else if (xdg_runtime != NULL && xdg_runtime[0] == '/')
		n = snprintf(buf, sizeof(buf), "%s/vault/agent.sock", xdg_runtime);
	else {
		/*
		 * Anyone can create /tmp/vault-UID first. If someone else did
		 * (or put something that is no directory there), use a
		 * directory under the user's home rather than fail: that one
		 * only the user (and root) can create.
		 */
		snprintf(tmp, sizeof(tmp), "/tmp/vault-%lu", uid);
		if (home != NULL && home[0] == '/' && lstat(tmp, &st) == 0 &&
		    (!S_ISDIR(st.st_mode) || st.st_uid != uid))
			n = snprintf(buf, sizeof(buf), "%s/.vault-agent/agent.sock", home);
		else
			n = snprintf(buf, sizeof(buf), "%s/agent.sock", tmp);
	}
	if (n < 0 || (size_t)n >= sizeof(buf) || (size_t)n >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return VAULT_ERR_TOOBIG;
	if ((*out = strdup(buf)) == NULL)
		return VAULT_ERR_NOMEM;
	return 0;
}

int
vault_sock_dir_check(const char *sockpath, int create, char *why, size_t whylen)
{
	struct stat st;
	char *copy, *dir;
	int rc = 0, fd;

	if ((copy = strdup(sockpath)) == NULL)
		return VAULT_ERR_NOMEM;
	dir = dirname(copy);
	if (create && mkdir(dir, 0700) != 0 && errno != EEXIST) {
		snprintf(why, whylen, "cannot create %s: %s", dir, strerror(errno));
		rc = VAULT_ERR_IO;
		goto out;
	}
	/* O_NOFOLLOW: a symlinked socket directory could point anywhere. */
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && (errno == ELOOP || errno == ENOTDIR) && lstat(dir, &st) == 0 && S_ISLNK(st.st_mode)) {
		snprintf(why, whylen, "socket directory %s is a symbolic link; give the real path", dir);
		rc = VAULT_ERR_SYMLINK;
		goto out;
	}
	if (fd < 0) {
		snprintf(why, whylen, "socket directory %s: %s", dir, strerror(errno));
		rc = errno == ENOENT ? VAULT_ERR_NOAGENT : errno == ELOOP ? VAULT_ERR_SYMLINK : VAULT_ERR_IO;
		goto out;
	}
	if (fstat(fd, &st) != 0) {
		rc = VAULT_ERR_IO;
	} else if (st.st_uid != geteuid()) {
		snprintf(why, whylen, "socket directory %s is owned by uid %lu, not by you", dir,
		    (unsigned long)st.st_uid);
		rc = VAULT_ERR_PERM;
	} else if ((st.st_mode & 077) != 0) {
		snprintf(why, whylen, "socket directory %s has mode %04o; it must be 0700", dir,
		    (unsigned)(st.st_mode & 07777));
		rc = VAULT_ERR_PERM;
	}
	close(fd);
out:
	free(copy);
	return rc;
}

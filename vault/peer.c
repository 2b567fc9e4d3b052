/* SPDX-License-Identifier: ISC */
/*
 * peer.c - who the caller is, for the release policy: the current process
 * as a peer (the --no-agent path), whether a process has a terminal, and
 * whether it descends from another (a ticket's process tree). Built on
 * platform.h, so the same file serves Linux and Windows (issue 16); moved
 * here from wire.c and release.c unchanged in behaviour.
 */
#include <string.h>

#include "internal.h"
#include "platform.h"

int
vault_pid_has_tty(uint32_t pid)
{
	uint32_t ppid;
	int tty;

	return vault_plat_proc_info(pid, &ppid, &tty) == 0 && tty;
}

void
vault_peer_self(vault_peer *peer)
{
	memset(peer, 0, sizeof(*peer));
	peer->uid = vault_plat_uid();
	peer->pid = vault_plat_pid();
	vault_plat_self_exe(peer->exe, sizeof(peer->exe));
	peer->direct = 1;
	peer->tty = vault_pid_has_tty(peer->pid);
}

int
vault_pid_descends(uint32_t pid, uint32_t ancestor)
{
	uint32_t ppid;
	int depth, tty;

	for (depth = 0; depth < 256 && pid > 1; depth++) {
		if (pid == ancestor)
			return 1;
		if (vault_plat_proc_info(pid, &ppid, &tty) != 0)
			return 0;
		pid = ppid;
	}
	return 0;
}

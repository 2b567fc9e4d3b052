/* SPDX-License-Identifier: ISC */
/*
 * audit_state.c - the audit log's memory of itself, against a whole
 * file rolled back to an older copy (which the chain alone cannot show):
 * the newest entry this process has seen (v->audit_seen), kept across
 * processes in a state file outside the vault (two checksummed slots
 * rewritten in place), and each new head sent to syslog as a witness.
 * The chain itself is audit.c's. Files, the trust check and the system log
 * are the platform layer's (platform.h; on Windows the witness goes to the
 * Application event log).
 *
 * MUST rule: nothing is appended to a log that is shorter than, or
 * differs from, one this process saw (vault_audit_fresh).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "audit_int.h"
#include "platform.h"

/*
 * The witness outside the file: each new head goes to the system log
 * (authpriv), where a whole-file rollback cannot reach it. `vault log
 * --verify` prints the same pair for an administrator to compare. This
 * is the audit record's own side channel, not a message to the user.
 */
static void
head_syslog(const vault *v, uint64_t seq, const unsigned char head[MACBYTES])
{
	char idhex[2 * VAULT_IDBYTES + 1], mhex[2 * VAULT_AUDIT_PREFIXBYTES + 1], msg[160];

	vault_id_hex(v, idhex);
	sodium_bin2hex(mhex, sizeof(mhex), head, VAULT_AUDIT_PREFIXBYTES);
	snprintf(msg, sizeof(msg), "vault %s: audit entry %llu, head %s", idhex, (unsigned long long)seq,
	    mhex);
	vault_plat_witness(msg);
}

/*
 * Freshness. v->audit_seen is the highest entry this process has seen,
 * with the mac of the entry before it (which can no longer change: only
 * the newest entry takes repeats); with a state file
 * (vault_audit_state_dir) it survives the process. Written after each
 * change, without fsync: it is a witness, not data, and a crash loses at
 * most the newest few entries of it. Written in place (pwrite of one
 * slot, no rename): a rename over the old file made ext4 flush it to the
 * disk on every release, which was half of the agent's time under load.
 */
static void
slot_check(unsigned char out[SLOTCHECK], const unsigned char *slot)
{
	crypto_generichash(out, SLOTCHECK, slot, SLOTBYTES - SLOTCHECK, NULL, 0);
}

void
vault_audit_state_close(vault *v)
{
	if (v->audit_state_fd >= 0)
		(void)close(v->audit_state_fd); /* not a vault file: no SQLite lock rides on it */
	v->audit_state_fd = -1;
}

static int
state_open(vault *v)
{
	vault_file_info sb;
	char why[200];
	int fd;

	/* Still the file at the path? Removed on purpose (vault_audit_forget, a user): start a new one. */
	if (v->audit_state_fd >= 0 && (vault_plat_fstat(v->audit_state_fd, &sb) != 0 || sb.nlink == 0))
		vault_audit_state_close(v);
	if (v->audit_state_fd >= 0)
		return 0;
	if ((fd = vault_plat_open_rw(v->audit_state)) < 0)
		return -1;
	/* A regular file of ours that nobody else can write (POSIX: mode & 022 clear). */
	if (vault_plat_trust_fd(fd, 0, why, sizeof(why)) != 0) {
		(void)close(fd);
		return -1;
	}
	v->audit_state_fd = fd;
	return 0;
}

static void
state_save(vault *v)
{
	unsigned char buf[SLOTBYTES];
	uint32_t gen;
	int i;

	if (v->audit_state == NULL || state_open(v) != 0)
		return; /* best effort: memory still holds */
	gen = ++v->audit_state_gen;
	memcpy(buf, SLOTMAGIC, 4);
	memcpy(buf + 4, v->id, VAULT_IDBYTES);
	for (i = 0; i < 8; i++)
		buf[4 + VAULT_IDBYTES + i] = (unsigned char)(v->audit_seen >> (56 - 8 * i));
	memcpy(buf + 12 + VAULT_IDBYTES, v->audit_seen_mac, MACBYTES);
	for (i = 0; i < 4; i++)
		buf[12 + VAULT_IDBYTES + MACBYTES + i] = (unsigned char)(gen >> (24 - 8 * i));
	slot_check(buf + SLOTBYTES - SLOTCHECK, buf);
	/* A full disk must not stop the vault: the other slot still holds the one before. */
	if (vault_plat_pwrite(v->audit_state_fd, buf, sizeof(buf), (uint64_t)(gen & 1) * SLOTBYTES) !=
	    (long long)sizeof(buf))
		vault_audit_state_close(v); /* reopened (and retried) at the next entry */
}

static void
seen_update(vault *v, uint64_t seq, const unsigned char mac[MACBYTES])
{
	if (seq < v->audit_seen ||
	    (seq == v->audit_seen && sodium_memcmp(mac, v->audit_seen_mac, MACBYTES) == 0))
		return;
	v->audit_seen = seq;
	memcpy(v->audit_seen_mac, mac, MACBYTES);
	state_save(v);
}

void
vault_audit_committed(vault *v, int committed)
{
	if (v->audit_pend == 0)
		return;
	if (committed) {
		seen_update(v, v->audit_pend, v->audit_pend_mac);
		head_syslog(v, v->audit_pend, v->audit_pend_head);
	}
	v->audit_pend = 0;
	sodium_memzero(v->audit_pend_mac, sizeof(v->audit_pend_mac));
	sodium_memzero(v->audit_pend_head, sizeof(v->audit_pend_head));
}

static const char *
state_hint(const vault *v)
{
	return v->audit_state != NULL ? v->audit_state : "(this process's memory)";
}

int
vault_audit_fresh(vault *v)
{
	unsigned char mac[MACBYTES], before[MACBYTES];
	uint64_t n;
	int rc;

	if (v->audit_seen == 0) {
		/*
		 * Nothing seen yet: remember where the log is. Damage is
		 * verify's to report, and the caller's detail stays as it was.
		 */
		char keep[sizeof(v->detail)];

		memcpy(keep, v->detail, sizeof(keep));
		if (vault_audit_last_row(v, &n, mac) == 0 && n > 0 && vault_audit_row_mac(v, n - 1, before) == 0)
			seen_update(v, n, before);
		memcpy(v->detail, keep, sizeof(keep));
		return 0;
	}
	if ((rc = vault_audit_last_row(v, &n, mac)) != 0)
		return rc;
	if (n < v->audit_seen) {
		vault_detail(v, "the audit log ends at entry %llu but entry %llu was seen: the vault file "
				"was rolled back or its log cut; if you restored a backup on purpose, remove %s",
		    (unsigned long long)n, (unsigned long long)v->audit_seen, state_hint(v));
		return VAULT_ERR_CORRUPT;
	}
	/*
	 * The row before the newest one seen can no longer change (only the
	 * newest takes repeats): a different mac there is a different log.
	 */
	if (v->audit_seen > 1) {
		if ((rc = vault_audit_row_mac(v, v->audit_seen - 1, before)) != 0)
			return rc;
		if (sodium_memcmp(before, v->audit_seen_mac, MACBYTES) != 0) {
			vault_detail(v, "audit entry %llu is not the one seen before: the log was replaced by "
					"another copy; if you restored a backup on purpose, remove %s",
			    (unsigned long long)(v->audit_seen - 1), state_hint(v));
			return VAULT_ERR_CORRUPT;
		}
	}
	if (n > v->audit_seen) {
		if ((rc = vault_audit_row_mac(v, n - 1, before)) != 0)
			return rc;
		seen_update(v, n, before);
	}
	return 0;
}

void
vault_audit_forget(vault *v)
{
	v->audit_seen = 0;
	sodium_memzero(v->audit_seen_mac, sizeof(v->audit_seen_mac));
	/* The next vault_audit_fresh records the log as it now is, and rewrites the file. */
	vault_audit_state_close(v);
	v->audit_state_gen = 0;
	if (v->audit_state != NULL)
		(void)unlink(v->audit_state);
}

/* One slot of the state file: 0 and its seq, mac and generation when it is whole and ours. */
static int
slot_read(const vault *v, const unsigned char *b, uint64_t *seq, unsigned char mac[MACBYTES], uint32_t *gen)
{
	unsigned char check[SLOTCHECK];
	int i;

	slot_check(check, b);
	if (memcmp(b, SLOTMAGIC, 4) != 0 || memcmp(b + 4, v->id, VAULT_IDBYTES) != 0 ||
	    sodium_memcmp(check, b + SLOTBYTES - SLOTCHECK, SLOTCHECK) != 0)
		return -1;
	*seq = 0;
	for (i = 0; i < 8; i++)
		*seq = *seq << 8 | b[4 + VAULT_IDBYTES + i];
	memcpy(mac, b + 12 + VAULT_IDBYTES, MACBYTES);
	*gen = 0;
	for (i = 0; i < 4; i++)
		*gen = *gen << 8 | b[12 + VAULT_IDBYTES + MACBYTES + i];
	return 0;
}

int
vault_audit_state_dir(vault *v, const char *dir)
{
	unsigned char buf[2 * SLOTBYTES + 1], h[8], mac[MACBYTES], smac[MACBYTES];
	char idhex[2 * VAULT_IDBYTES + 1], hhex[2 * sizeof(h) + 1], *real = NULL, *path = NULL;
	uint64_t seq = 0, sseq;
	uint32_t gen = 0, sgen;
	char why[200];
	long long got;
	size_t len;
	int fd = -1, rc = 0, i, found = 0;

	if ((real = vault_plat_realpath(v->path)) == NULL)
		return VAULT_ERR_IO;
	/* One file per vault and place: a backup copy elsewhere has a past of its own. */
	crypto_generichash(h, sizeof(h), (const unsigned char *)real, strlen(real), NULL, 0);
	free(real);
	vault_id_hex(v, idhex);
	sodium_bin2hex(hhex, sizeof(hhex), h, sizeof(h));
	len = strlen(dir) + sizeof("/audit-") + strlen(idhex) + 1 + strlen(hhex);
	if ((path = malloc(len)) == NULL)
		return VAULT_ERR_NOMEM;
	snprintf(path, len, "%s/audit-%s-%s", dir, idhex, hhex);
	if ((fd = vault_plat_open_nofollow(path)) < 0) {
		if (errno != ENOENT) {
			vault_detail(v, "cannot read %s: %s", path, strerror(errno));
			rc = errno == ELOOP ? VAULT_ERR_SYMLINK : VAULT_ERR_IO;
		}
		goto out;
	}
	if (vault_plat_trust_fd(fd, 0, why, sizeof(why)) != 0) {
		vault_detail(v, "%s is not a regular file of ours that only we can write", path);
		rc = VAULT_ERR_PERM;
		goto out;
	}
	got = vault_plat_pread(fd, buf, sizeof(buf), 0);
	if (got == (long long)STATEBYTES && memcmp(buf, STATEMAGIC, 4) == 0 &&
	    memcmp(buf + 4, v->id, VAULT_IDBYTES) == 0) {
		/* Written by an older vault: one record. */
		for (i = 0; i < 8; i++)
			seq = seq << 8 | buf[4 + VAULT_IDBYTES + i];
		memcpy(mac, buf + 12 + VAULT_IDBYTES, MACBYTES);
		found = 1;
	} else if (got >= (long long)SLOTBYTES && got <= (long long)(2 * SLOTBYTES)) {
		for (i = 0; i * SLOTBYTES + SLOTBYTES <= (size_t)got; i++) {
			if (slot_read(v, buf + i * SLOTBYTES, &sseq, smac, &sgen) != 0 ||
			    (found && (sgen < gen || (sgen == gen && sseq <= seq))))
				continue;
			seq = sseq;
			gen = sgen;
			memcpy(mac, smac, MACBYTES);
			found = 1;
		}
	}
	if (!found) {
		vault_detail(v, "%s is damaged; remove it to start afresh", path);
		rc = VAULT_ERR_CORRUPT;
		goto out;
	}
	v->audit_state_gen = gen;
	if (seq > v->audit_seen) {
		v->audit_seen = seq;
		memcpy(v->audit_seen_mac, mac, MACBYTES);
	}
out:
	if (fd >= 0)
		close(fd);
	if (rc == 0) {
		vault_audit_state_close(v);
		free(v->audit_state);
		v->audit_state = path;
		path = NULL;
	}
	free(path);
	sodium_memzero(buf, sizeof(buf));
	return rc;
}

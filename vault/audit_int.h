/* SPDX-License-Identifier: ISC */
/*
 * audit_int.h - what audit.c (the chain) and audit_state.c (the memory
 * of the newest entry seen, the state file, the syslog witness) share.
 * Not for use outside those two files.
 */
#ifndef VAULT_AUDIT_INT_H
#define VAULT_AUDIT_INT_H

#include <stdint.h>

#include "internal.h"

#define MACBYTES 32U
/* Legacy state file (one record, replaced by rename): "VAS1" | vault id | u64 seq | mac. */
#define STATEMAGIC "VAS1"
#define STATEBYTES (4U + VAULT_IDBYTES + 8U + MACBYTES)
/*
 * State file: two slots, rewritten in place in turn, each
 * "VAS2" | vault id | u64 seq | mac | u32 generation | BLAKE2b-128 of the
 * rest. A torn write spoils one slot; the reader takes the valid slot of
 * the highest generation.
 */
#define HEAD1BYTES (8U + MACBYTES)
#define HEAD2BYTES (8U + MACBYTES + VAULT_ROWS_MACBYTES)
#define SLOTMAGIC "VAS2"
#define SLOTCHECK 16U
#define SLOTBYTES (4U + VAULT_IDBYTES + 8U + MACBYTES + 4U + SLOTCHECK)

int vault_audit_last_row(vault *v, uint64_t *seq, unsigned char mac[MACBYTES]);
int vault_audit_row_mac(vault *v, uint64_t seq, unsigned char mac[MACBYTES]);

#endif

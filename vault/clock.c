/* SPDX-License-Identifier: ISC */
/*
 * clock.c - the vault's clock: time(NULL), moved by an offset that only
 * the rotation tests set (vault_test_clock_offset). Every timestamp
 * libvault writes or compares comes from here, on both sides: the store
 * (created, changed, due times) and the client (vault log --since, vault
 * show's ages), so a test that moves the clock moves both.
 */
#include <time.h>

#include "internal.h"

static int64_t clock_offset; /* test builds only: vault_test_clock_offset() */

int64_t
vault_now(void)
{
	return (int64_t)time(NULL) + clock_offset;
}

void
vault_test_clock_offset(int64_t offset)
{
	clock_offset = offset;
}

int64_t
vault_time(void)
{
	return vault_now();
}

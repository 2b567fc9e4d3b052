/* SPDX-License-Identifier: ISC */
/*
 * target.h - rotation targets for the programs that hold the key
 * (vault-agent and vault --no-agent). See target.c.
 */
#ifndef VAULT_TARGET_H
#define VAULT_TARGET_H

#include <stddef.h>

#include "vault.h"

/* Installs the local and command targets (and, in test builds, the hooks). */
void target_install(vault *v);
/* Where vault-launch is: launch_program() (common/sibling.c), as an error code. */
int target_launch_program(char *out, size_t size);
/* 1 in builds made with -Dtest_hooks=true. */
int target_test_hooks(void);

#endif

/* SPDX-License-Identifier: ISC */
/*
 * pattern.h - parameter patterns (pattern.c), for template.c and the
 * tests that compare the engines. The compiled form is opaque: PCRE2's
 * types stay in pattern.c.
 */
#ifndef VAULT_PATTERN_H
#define VAULT_PATTERN_H

#include <stddef.h>

#include "internal.h"

typedef struct vault_pattern vault_pattern;

/* param's pattern, checked and compiled anchored at both ends, into *out. */
int vault_pattern_compile(vault_pattern **out, const vault_param *param, char *why, size_t whylen);

/*
 * 0 if value (len bytes) matches the whole pattern; VAULT_ERR_INVAL if
 * not; VAULT_ERR_TOOBIG if a match limit was hit (refuse: fails closed);
 * VAULT_ERR_NOMEM.
 */
int vault_pattern_match(const vault_pattern *vp, const char *value, size_t len);

/* Frees *vp and sets it NULL; NULL is fine. */
void vault_pattern_free(vault_pattern **vp);

/* NULL if pattern p is within the bounds pattern.c accepts, else why not (for the tests). */
const char *vault_pattern_problem(const char *p);

#endif

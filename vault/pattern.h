/* SPDX-License-Identifier: ISC */
/*
 * pattern.h - parameter patterns (pattern.c), for template.c. Apart from internal.h
 * because it needs <regex.h>, which only POSIX systems have (issue 16:
 * mingw-w64 has none; one regex engine on every platform is item 3).
 */
#ifndef VAULT_PATTERN_H
#define VAULT_PATTERN_H

#include <regex.h>

#include "internal.h"

/* param's pattern, checked and compiled anchored at both ends, into re. */
int vault_pattern_compile(regex_t *re, const vault_param *param, char *why, size_t whylen);

#endif

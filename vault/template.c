/* SPDX-License-Identifier: ISC */
/* template.c - placeholder; being written (action checks and template expansion). */
#include "internal.h"

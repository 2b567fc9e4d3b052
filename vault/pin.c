/* SPDX-License-Identifier: ISC */
/* pin.c - placeholder; being written (program resolution and pinning). */
#include "internal.h"

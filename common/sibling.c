/* SPDX-License-Identifier: ISC */
/*
 * sibling.c - finding a program of ours (vault-agent, vault-launch,
 * vault-askpass; vault-direct, a helper in libexecdir): named by a
 * variable, beside the running program, in its build-tree folder, or
 * installed. See common.h.
 */
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common.h"
#include "config.h"

/*
 * The one search both lookups make: env's value when set, else name
 * beside the running program, else (a build tree) in ../builddir beside
 * it, else in installdir. out always holds the last path tried.
 */
static int
find_program(const char *env, const char *name, const char *builddir, const char *installdir, char *out,
    size_t size)
{
	const char *val = env != NULL ? getenv(env) : NULL;
	char self[PATH_MAX], *dir;
	ssize_t n;

	if (val != NULL && *val != '\0') {
		snprintf(out, size, "%s", val);
		return 0;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		dir = dirname(self);
		snprintf(out, size, "%s/%s", dir, name);
		if (access(out, X_OK) == 0)
			return 0;
		/* A build tree: agent/ and cli/ side by side. */
		if (builddir != NULL) {
			snprintf(out, size, "%s/../%s/%s", dir, builddir, name);
			if (access(out, X_OK) == 0)
				return 0;
		}
	}
	snprintf(out, size, "%s/%s", installdir, name);
	return access(out, X_OK) == 0 ? 0 : -1;
}

int
sibling_program(const char *env, const char *name, const char *builddir, char *out, size_t size)
{
	return find_program(env, name, builddir, VAULT_BINDIR, out, size);
}

int
launch_program(char *out, size_t size)
{
	return sibling_program("VAULT_LAUNCH_PROGRAM", "vault-launch", "cli", out, size);
}

int
libexec_program(const char *env, const char *name, char *out, size_t size)
{
	/* A build tree: the helper beside the program (cli/vault, cli/vault-direct). */
	return find_program(env, name, NULL, VAULT_LIBEXECDIR, out, size);
}

/* SPDX-License-Identifier: ISC */
/*
 * launch_limits.c - resource limits for a program run as another account.
 *
 * Limits are inherited: without this, the caller's `ulimit -f 1` or
 * `ulimit -n 20` reaches a program running as the target, which can make
 * it truncate a file it writes or fail half-way through a change. Like
 * su and sudo with pam_limits, the target gets the system's defaults (the
 * limits of process 1, which no user can change) and then whatever the
 * site's pam_limits sets in pam_open_session.
 *
 * MUST rules:
 *  1. Every limit is set from process 1's, soft and hard. Where a hard
 *     limit cannot be raised (no CAP_SYS_RESOURCE, as in many
 *     containers), the soft one goes as close to the system's as it
 *     allows. Any other failure refuses the run; none is ignored.
 *  2. Called as root, before pam_open_session (where pam_limits runs).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "launch.h"

static const struct {
	int res;
	const char *name; /* as /proc/PID/limits words it */
} limits[] = {
	{ RLIMIT_CPU, "Max cpu time" }, { RLIMIT_FSIZE, "Max file size" }, { RLIMIT_DATA, "Max data size" },
	{ RLIMIT_STACK, "Max stack size" }, { RLIMIT_CORE, "Max core file size" },
	{ RLIMIT_RSS, "Max resident set" }, { RLIMIT_NPROC, "Max processes" },
	{ RLIMIT_NOFILE, "Max open files" }, { RLIMIT_MEMLOCK, "Max locked memory" },
	{ RLIMIT_AS, "Max address space" }, { RLIMIT_LOCKS, "Max file locks" },
	{ RLIMIT_SIGPENDING, "Max pending signals" }, { RLIMIT_MSGQUEUE, "Max msgqueue size" },
	{ RLIMIT_NICE, "Max nice priority" }, { RLIMIT_RTPRIO, "Max realtime priority" },
	{ RLIMIT_RTTIME, "Max realtime timeout" },
};
#define NLIMITS (sizeof(limits) / sizeof(limits[0]))

/* "unlimited" or a decimal number, nothing else. */
static int
parse_lim(const char *s, size_t n, rlim_t *out)
{
	rlim_t v = 0;
	size_t i;

	if (n == 9 && strncmp(s, "unlimited", 9) == 0) {
		*out = RLIM_INFINITY;
		return 0;
	}
	if (n == 0 || n > 20)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9' || v > (RLIM_INFINITY - 9) / 10)
			return -1;
		v = v * 10 + (rlim_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

/*
 * Reads process 1's limits from /proc/1/limits, which anyone may read
 * (prlimit(1, ...) needs CAP_SYS_RESOURCE, and our real uid is the caller's).
 */
static int
read_pid1(struct rlimit out[NLIMITS], char *why, size_t whylen)
{
	char line[256];
	int seen[NLIMITS] = { 0 };
	size_t i;
	FILE *f;

	if ((f = fopen("/proc/1/limits", "re")) == NULL) {
		snprintf(why, whylen, "cannot read the system's limits (/proc/1/limits): %s", strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		for (i = 0; i < NLIMITS; i++) {
			size_t nl = strlen(limits[i].name);
			const char *p = line + nl, *soft, *hard;
			size_t sl, hl;

			if (strncmp(line, limits[i].name, nl) != 0 || *p != ' ')
				continue;
			p += strspn(p, " ");
			soft = p;
			sl = strcspn(p, " \n");
			p += sl;
			p += strspn(p, " ");
			hard = p;
			hl = strcspn(p, " \n");
			if (parse_lim(soft, sl, &out[i].rlim_cur) == 0 && parse_lim(hard, hl, &out[i].rlim_max) == 0)
				seen[i] = 1;
			break;
		}
	}
	fclose(f);
	for (i = 0; i < NLIMITS; i++) {
		if (!seen[i]) {
			snprintf(why, whylen, "cannot read the system's limits: no '%s' in /proc/1/limits",
			    limits[i].name);
			return -1;
		}
	}
	return 0;
}

int
launch_limits_reset(char *why, size_t whylen)
{
	struct rlimit sys[NLIMITS], cur, rl;
	size_t i;

	if (read_pid1(sys, why, whylen) != 0)
		return -1;
	for (i = 0; i < NLIMITS; i++) {
		__rlimit_resource_t res = (__rlimit_resource_t)limits[i].res;

		if (setrlimit(res, &sys[i]) == 0)
			continue;
		/*
		 * Raising a hard limit needs CAP_SYS_RESOURCE, which a container
		 * may withhold even from root; there the hard limit we inherited
		 * cannot be told from the environment's own. The program gets the
		 * system's soft limit, or as close to it as that hard limit allows
		 * (SECURITY.md says so).
		 */
		if (errno != EPERM || getrlimit(res, &cur) != 0) {
			snprintf(why, whylen, "cannot reset the limit '%s': %s", limits[i].name, strerror(errno));
			return -1;
		}
		rl.rlim_max = cur.rlim_max;
		rl.rlim_cur = sys[i].rlim_cur;
		if (rl.rlim_max != RLIM_INFINITY && (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > rl.rlim_max))
			rl.rlim_cur = rl.rlim_max;
		if (setrlimit(res, &rl) != 0) {
			snprintf(why, whylen, "cannot reset the limit '%s': %s", limits[i].name, strerror(errno));
			return -1;
		}
	}
	return 0;
}

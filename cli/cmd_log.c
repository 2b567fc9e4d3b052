/* SPDX-License-Identifier: ISC */
/*
 * cmd_log.c - `vault log`: the audit log, read page by page (so it can be
 * any size), filtered, newest N kept, or verified as a whole chain
 * against its head.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cmds.h"
#include "common.h"

static int cmd_log(int argc, char **argv);

const struct cli_cmd cli_cmd_log = { "log", cmd_log,
	"log [--json] [--verify] [--since DATE] [--account NAME] [--action NAME] [--last N]",
	"Show the audit log: for each entry who asked (uid, pid, program), what\n"
	"(operation, account, action, parameters) and the outcome. --since DATE\n"
	"(YYYY-MM-DD[THH:MM[:SS]] UTC, @UNIXTIME, or 30m, 2h, 7d ago), --account and\n"
	"--action filter it; --last N shows the newest N that match. The log is read\n"
	"page by page, so it can be any size. --verify checks the whole hash chain and\n"
	"the head, prints the head's entry number and mac prefix (compare them with\n"
	"the authpriv system log) and exits 6 if an entry was edited, reordered or\n"
	"deleted, or the log is shorter than one the agent saw." };

/* One entry: who (uid, pid, program), what (operation, account, action) and the outcome. */
static void
log_print(const struct cli_opts *o, const vault_audit_entry *e, size_t i)
{
	char t[32], rep[80];

	fmt_time(t, e->time);
	if (o->json) {
		printf("%s{\"seq\":%llu,\"time\":\"%s\",\"uid\":%u,\"pid\":%u,\"exe\":", i ? "," : "",
		    (unsigned long long)e->seq, t, e->uid, e->pid);
		json_str(stdout, e->exe);
		printf(",\"op\":");
		json_str(stdout, e->op);
		printf(",\"account\":");
		json_str(stdout, e->account);
		printf(",\"action\":");
		json_str(stdout, e->action);
		printf(",\"outcome\":");
		json_str(stdout, e->outcome);
		printf(",\"params\":");
		json_str(stdout, e->params);
		fmt_time(t, e->last);
		printf(",\"count\":%u,\"last\":\"%s\"}", e->count > 1 ? e->count : 1, t);
		return;
	}
	if (i == 0)
		printf("%-7s %-20s %-8s %-20s %-16s %s\n", "SEQ", "TIME", "OP", "ACCOUNT", "ACTION",
		    "OUTCOME  [WHO]  PARAMETERS");
	if (e->count > 1) {
		fmt_time(rep + 32, e->last);
		snprintf(rep, 32, "  (x%u, until ", e->count);
		snprintf(rep + 32 + strlen(rep + 32), 8, ")");
	} else {
		rep[0] = rep[32] = '\0';
	}
	printf("%-7llu %-20s %-8s %-20s %-16s %s%s%s  [uid %u pid %u %s]%s%s\n", (unsigned long long)e->seq, t,
	    cli_esc(e->op), *e->account ? cli_esc(e->account) : "-", *e->action ? cli_esc(e->action) : "-",
	    cli_esc(e->outcome), rep, rep + 32, e->uid, e->pid, *e->exe ? cli_esc(e->exe) : "?",
	    *e->params ? "  " : "", cli_esc(e->params));
}

/*
 * What vault log collects across pages: printed as it comes, or, with
 * --last N, the newest N kept (in a ring when walking forward).
 */
struct log_view {
	const struct cli_opts *o;
	size_t shown;
	uint32_t last;     /* 0: all */
	vault_audit_entry *keep;
	size_t nkeep;      /* entries held in keep */
	size_t pos;        /* ring: next slot to write */
	int newest_first;  /* pages come newest first (reverse) */
};

static int
log_item(vault_rd *r, size_t i, void *arg)
{
	struct log_view *lv = arg;
	vault_audit_entry e;

	(void)i;
	if (vault_audit_decode(r, &e) != 0 || vault_rd_end(r) != 0) {
		vault_audit_entry_clear(&e);
		return VAULT_ERR_PROTO;
	}
	if (lv->last == 0) {
		log_print(lv->o, &e, lv->shown++);
		vault_audit_entry_clear(&e);
		return 0;
	}
	if (lv->newest_first) {
		if (lv->nkeep < lv->last)
			lv->keep[lv->nkeep++] = e;
		else
			vault_audit_entry_clear(&e);
		return 0;
	}
	vault_audit_entry_clear(&lv->keep[lv->pos]);
	lv->keep[lv->pos] = e;
	lv->pos = (lv->pos + 1) % lv->last;
	if (lv->nkeep < lv->last)
		lv->nkeep++;
	return 0;
}

/* The kept entries, oldest first. */
static void
log_flush(struct log_view *lv)
{
	size_t k, idx;

	for (k = 0; k < lv->nkeep; k++) {
		if (lv->newest_first)
			idx = lv->nkeep - 1 - k;
		else
			idx = (lv->pos + lv->last - lv->nkeep + k) % lv->last;
		log_print(lv->o, &lv->keep[idx], lv->shown++);
	}
}

/*
 * --since: 2026-12-01, 2026-12-01T08:00[:00][Z] (UTC), @UNIXTIME, or
 * a duration (15m, 8h, 1d, 1h30m) for that long ago.
 */
/* 1 to max digits at *s into *v (the pointer moves past them); 0 if there is none. */
static int
digits(const char **s, int max, int *v)
{
	int n = 0;

	*v = 0;
	while (n < max && **s >= '0' && **s <= '9') {
		*v = *v * 10 + (**s - '0');
		(*s)++;
		n++;
	}
	return n > 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/*
 * YYYY-MM-DD, then optionally 'T' or ' ' and HH:MM[:SS], then optionally
 * 'Z'; UTC. Parsed here rather than with strptime and timegm, which
 * Windows's C runtime lacks.
 */
static int
parse_date(const char *s, int64_t *out)
{
	int y, mo, d, h = 0, mi = 0, sec = 0;

	if (!digits(&s, 4, &y) || *s++ != '-' || !digits(&s, 2, &mo) || *s++ != '-' || !digits(&s, 2, &d))
		return VAULT_ERR_INVAL;
	if (*s == 'T' || *s == ' ') {
		s++;
		if (!digits(&s, 2, &h) || *s++ != ':' || !digits(&s, 2, &mi))
			return VAULT_ERR_INVAL;
		if (*s == ':' && (s++, !digits(&s, 2, &sec)))
			return VAULT_ERR_INVAL;
	}
	if (*s == 'Z')
		s++;
	if (*s != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return VAULT_ERR_INVAL;
	*out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
	return *out > 0 ? 0 : VAULT_ERR_INVAL;
}

static int
parse_since(const char *s, int64_t *out)
{
	uint64_t ago;
	uint32_t n;
	size_t len = strlen(s);

	if (s[0] == '@') {
		if (parse_u32(s + 1, 0, UINT32_MAX, &n) != 0)
			return VAULT_ERR_INVAL;
		*out = n;
		return 0;
	}
	/* A duration ago (common.h): 15m, 8h, 1d, 1h30m; a bare number is no date and no duration here. */
	if (len >= 2 && strchr("smhd", s[len - 1]) != NULL) {
		if (parse_duration(s, 1, 3650ULL * 86400, &ago) != 0)
			return VAULT_ERR_INVAL;
		*out = vault_time() - (int64_t)ago;
		return 0;
	}
	return parse_date(s, out);
}

static int
cmd_log(int argc, char **argv)
{
	static const struct option lo[] = { COMMON_OPTS, { "json", no_argument, NULL, OPT_JSON },
		{ "verify", no_argument, NULL, OPT_VERIFY }, { "since", required_argument, NULL, OPT_SINCE },
		{ "account", required_argument, NULL, OPT_ACCOUNT },
		{ "action", required_argument, NULL, OPT_ACTION },
		{ "last", required_argument, NULL, OPT_LAST }, { NULL, 0, NULL, 0 } };
	unsigned char prefix[VAULT_AUDIT_PREFIXBYTES];
	char phex[2 * VAULT_AUDIT_PREFIXBYTES + 1];
	const char *account = "", *action = "";
	struct cli_opts o = cli_defaults;
	struct log_view lv;
	struct session s;
	uint64_t from = 0, next = 0, hseq = 0;
	int64_t since = 0;
	uint8_t flags = 0;
	vault_wr p, resp;
	vault_rd r;
	size_t k;
	int c, ret;

	memset(&lv, 0, sizeof(lv));
	lv.o = &o;
	while ((c = cli_getopt(argc, argv, "h", lo, &cli_cmd_log)) != -1) {
		switch (c) {
		case 'h':
			return cli_show_help(&cli_cmd_log);
		case OPT_VERIFY:
			flags |= VAULT_AUDIT_VERIFY;
			break;
		case OPT_SINCE:
			if (parse_since(optarg, &since) != 0)
				return cli_usage("--since: not a date: %s (use YYYY-MM-DD[THH:MM[:SS]] in UTC, "
						 "@UNIXTIME, or 30m, 2h, 7d ago)", optarg);
			break;
		case OPT_ACCOUNT:
		case OPT_ACTION:
			if (vault_name_check(optarg) != 0)
				return cli_usage("--%s: invalid name", c == OPT_ACCOUNT ? "account" : "action");
			*(c == OPT_ACCOUNT ? &account : &action) = optarg;
			break;
		case OPT_LAST:
			if (parse_u32(optarg, 1, 10000000U, &lv.last) != 0)
				return cli_usage("--last: a number from 1 to 10000000");
			break;
		default:
			if (!cli_common_opt(c, &o))
				return cli_bad_option(&cli_cmd_log);
		}
	}
	if (optind != argc)
		return cli_bad_option(&cli_cmd_log);
	if ((ret = session_open(&s, &o, 1)) != 0) {
		session_close(&s);
		return ret;
	}
	/* --last without --verify reads newest first and stops early. */
	if (lv.last != 0 && !(flags & VAULT_AUDIT_VERIFY)) {
		flags |= VAULT_AUDIT_REVERSE;
		lv.newest_first = 1;
	}
	if (lv.last != 0 && (lv.keep = calloc(lv.last, sizeof(*lv.keep))) == NULL) {
		session_close(&s);
		return cli_fail(VAULT_ERR_NOMEM, "out of memory");
	}
	vault_wr_init(&p, 0, 0);
	vault_wr_init(&resp, 0, 0);
	if (o.json)
		printf("[");
	/* One page per request: neither side ever holds the whole log. */
	for (;;) {
		uint32_t want = lv.newest_first ? lv.last - (uint32_t)lv.nkeep : 0;

		p.len = 0;
		resp.len = 0;
		vault_wr_u8(&p, flags);
		vault_wr_u64(&p, from);
		vault_wr_u32(&p, want);
		vault_wr_u64(&p, (uint64_t)since);
		vault_wr_cstr(&p, account);
		vault_wr_cstr(&p, action);
		ret = cli_call(&s, VAULT_MSG_LOG, &p, &resp,
		    flags & VAULT_AUDIT_VERIFY ? "audit log verification failed" : "cannot read the log");
		/* Entries before a break are still worth seeing. */
		if (cli_each_item(&resp, log_item, &lv) != 0 && ret == 0)
			ret = cli_fail(VAULT_ERR_PROTO, "malformed answer");
		if (ret != 0)
			break;
		r = cli_final_payload(&resp);
		if (vault_rd_u64(&r, &next) != 0 || vault_rd_u64(&r, &hseq) != 0 ||
		    vault_rd_bytes(&r, prefix, sizeof(prefix)) != 0 || vault_rd_end(&r) != 0) {
			ret = cli_fail(VAULT_ERR_PROTO, "malformed answer");
			break;
		}
		if (next == 0 || (lv.newest_first && lv.nkeep >= lv.last))
			break;
		from = next;
	}
	log_flush(&lv);
	if (o.json)
		printf("]\n");
	else if (lv.shown == 0 && ret == 0)
		printf("no entries%s\n", since || *account || *action ? " match" : "");
	fflush(stdout);
	if (ret == 0 && (flags & VAULT_AUDIT_VERIFY)) {
		sodium_bin2hex(phex, sizeof(phex), prefix, sizeof(prefix));
		fprintf(stderr, "audit log verified: %llu entries, chain and head intact\n"
				"audit head: entry %llu, mac %s (the system log's authpriv line for this "
				"vault must show the same pair)\n",
		    (unsigned long long)hseq, (unsigned long long)hseq, phex);
	}
	for (k = 0; k < lv.last && lv.keep != NULL; k++)
		vault_audit_entry_clear(&lv.keep[k]);
	free(lv.keep);
	vault_wr_free(&p);
	vault_wr_free(&resp);
	session_close(&s);
	return ret;
}

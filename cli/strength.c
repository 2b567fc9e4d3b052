/* SPDX-License-Identifier: ISC */
/*
 * strength.c - a new master passphrase (init, passwd, keyslot
 * add-passphrase) is scored by libpwquality, the library behind
 * pam_pwquality and passwd(1), with the system's own settings
 * (/etc/security/pwquality.conf): length, character classes, the cracklib
 * dictionary, palindromes, the user's name. Not hand-written rules.
 *
 * A person who types a weak one is told why and asked again (three tries,
 * as passwd(1) gives); --force takes it as it is. A script (fd, file,
 * command) gets the warning and the passphrase is taken: automation that
 * provisions vaults keeps working, and its author sees why.
 *
 * Built without libpwquality (meson -Dpwquality=disabled), no passphrase
 * is judged and init says so once.
 */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "cli.h"
#include "sys.h"

#ifdef HAVE_PWQUALITY
#include <pwd.h>
#include <unistd.h>

#include <pwquality.h>

/* 0 if strong enough; else 1 with the reason in why. */
static int
judge(const vault_secret *pass, char *why, size_t whylen)
{
	pwquality_settings_t *pwq;
	struct passwd *pw = getpwuid(getuid());
	void *aux = NULL;
	char buf[PWQ_MAX_ERROR_MESSAGE_LEN];
	int score;

	if ((pwq = pwquality_default_settings()) == NULL)
		return 0;
	(void)pwquality_read_config(pwq, NULL, NULL);
	{
		/* No dictionary (cracklib-runtime not installed): judge the rest rather than fail every passphrase. */
		const char *dp = NULL;
		char path[4096];

		if (pwquality_get_str_value(pwq, PWQ_SETTING_DICT_PATH, &dp) != 0 || dp == NULL || *dp == '\0')
			dp = "/var/cache/cracklib/cracklib_dict";
		snprintf(path, sizeof(path), "%s.pwd", dp);
		if (access(path, R_OK) != 0)
			(void)pwquality_set_int_value(pwq, PWQ_SETTING_DICT_CHECK, 0);
	}
	/* The buffer is NUL-terminated (vault_secret); a NUL inside ends what is judged. */
	score = pwquality_check(pwq, (const char *)pass->buf, NULL, pw != NULL ? pw->pw_name : NULL, &aux);
	if (score < 0) {
		snprintf(why, whylen, "%s", pwquality_strerror(buf, sizeof(buf), score, aux));
		pwquality_free_settings(pwq);
		return 1;
	}
	pwquality_free_settings(pwq);
	return 0;
}
#else
static int
judge(const vault_secret *pass, char *why, size_t whylen)
{
	(void)pass;
	(void)why;
	(void)whylen;
	return 0;
}
#endif

int
cli_read_new_passphrase(vault_secret **out, const char *prompt, int force)
{
	char why[256], again[320];
	int rc, tries;

	/* libpwquality and cracklib copy what they judge; nothing of this process goes to a core file. */
	cli_sys_nodump();
	for (tries = 1;; tries++) {
		if ((rc = cli_read_passphrase_again(out, prompt, 1, tries > 1 ? again : NULL)) != 0)
			return rc;
		if (force || !judge(*out, why, sizeof(why)))
			return 0;
		if (!cli_passphrase_interactive()) {
			fprintf(stderr, "%s: warning: the new passphrase is weak: %s (libpwquality); "
					"taken, as it came from a script (--force: no check)\n", cli_prog, why);
			return 0;
		}
		vault_secret_free(out);
		if (tries >= CLI_TRIES) {
			cli_fail(VAULT_ERR_INVAL, "the new passphrase is weak: %s (libpwquality); nothing was changed "
						  "(choose a stronger one, or give --force to take it as it is)", why);
			return CLI_ERR_WEAK;
		}
		snprintf(again, sizeof(again), "That passphrase is weak: %s. Choose another (or --force).", why);
	}
}

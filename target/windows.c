/* SPDX-License-Identifier: ISC */
/*
 * windows.c - the portable half of the `windows` rotation target
 * (windows_target.h): what NetUserChangePassword's and LogonUserW's answers mean
 * for the rotation protocol. Pure functions, tested on Linux and under wine
 * (test_winrun_portable); windows_win32.c makes the calls.
 *
 * The one rule that matters: once NetUserChangePassword has said yes, the
 * change step never answers "nothing changed" (VAULT_ERR_BADPASS), whatever
 * the checks after it say, because rotation would then treat the new
 * password as never applied. A failed check after the change is "changed,
 * not verified" (VAULT_ERR_IO): libvault asks which password logs on and
 * keeps the new one as a candidate.
 */
#include <stdio.h>

#include "vault.h"
#include "windows_target.h"

/* NetUserChangePassword's answers (lmerr.h, winerror.h). */
#define NERR_SUCCESS 0U
#define E_INVALID_PASSWORD 86U
#define E_LOGON_FAILURE 1326U
#define E_ACCOUNT_RESTRICTION 1327U
#define E_PASSWORD_EXPIRED 1330U
#define E_ACCOUNT_DISABLED 1331U
#define E_LOGON_TYPE 1385U
#define E_PASSWORD_MUST_CHANGE 1907U
#define E_ACCOUNT_LOCKED_OUT 1909U
#define E_NO_SUCH_USER 1317U
#define E_PASSWORD_RESTRICTION 1325U
#define NERR_USER_NOT_FOUND 2221U
#define NERR_PASSWORD_CANT_CHANGE 2243U
#define NERR_PASSWORD_HIST_CONFLICT 2244U
#define NERR_PASSWORD_TOO_SHORT 2245U
#define NERR_PASSWORD_TOO_RECENT 2246U

int
target_win_change_status(uint32_t status, const char *who, char *why, size_t whylen)
{
	switch (status) {
	case NERR_SUCCESS:
		if (whylen > 0)
			why[0] = '\0';
		return 0;
	case E_INVALID_PASSWORD:
	case E_LOGON_FAILURE:
		snprintf(why, whylen, "Windows refused the stored password of %s (error %lu): nothing "
		    "changed", who, (unsigned long)status);
		return VAULT_ERR_BADPASS;
	case NERR_USER_NOT_FOUND:
	case E_NO_SUCH_USER:
		snprintf(why, whylen, "there is no account %s (error %lu): nothing changed", who,
		    (unsigned long)status);
		return VAULT_ERR_BADPASS;
	case NERR_PASSWORD_CANT_CHANGE:
	case NERR_PASSWORD_HIST_CONFLICT:
	case NERR_PASSWORD_TOO_SHORT:
	case NERR_PASSWORD_TOO_RECENT:
	case E_PASSWORD_RESTRICTION:
		snprintf(why, whylen, "the password policy for %s refused the new password (error %lu: "
		    "too short, too simple, reused, changed too recently, or not changeable): nothing "
		    "changed", who, (unsigned long)status);
		return VAULT_ERR_BADPASS;
	case E_ACCOUNT_LOCKED_OUT:
	case E_ACCOUNT_DISABLED:
	case E_ACCOUNT_RESTRICTION:
		snprintf(why, whylen, "%s cannot change its password now (error %lu: locked out, "
		    "disabled or restricted): nothing changed", who, (unsigned long)status);
		return VAULT_ERR_BADPASS;
	default:
		/* Network, RPC, access: it may or may not have reached the account. */
		snprintf(why, whylen, "NetUserChangePassword for %s failed with error %lu", who,
		    (unsigned long)status);
		return VAULT_ERR_IO;
	}
}

int
target_win_logon_status(uint32_t err, const char *who, char *why, size_t whylen)
{
	switch (err) {
	case 0:
	case E_PASSWORD_EXPIRED:
	case E_PASSWORD_MUST_CHANGE:
		/* Windows says these only for the right password. */
		if (whylen > 0)
			why[0] = '\0';
		return 0;
	case E_LOGON_FAILURE:
		snprintf(why, whylen, "the password does not log on as %s", who);
		return VAULT_ERR_BADPASS;
	default:
		snprintf(why, whylen, "cannot check a logon as %s (LogonUserW error %lu)", who,
		    (unsigned long)err);
		return VAULT_ERR_IO;
	}
}

int
target_win_change_outcome(uint32_t change_status, uint32_t new_err, uint32_t old_err,
    const char *who, char *why, size_t whylen)
{
	char sub[300];
	int rc;

	if ((rc = target_win_change_status(change_status, who, why, whylen)) != 0)
		return rc;
	/* Changed: from here on, never VAULT_ERR_BADPASS. */
	if ((rc = target_win_logon_status(new_err, who, sub, sizeof(sub))) != 0) {
		snprintf(why, whylen, "changed, not verified: %s", rc == VAULT_ERR_BADPASS ?
		    "the new password does not log on" : sub);
		return VAULT_ERR_IO;
	}
	rc = target_win_logon_status(old_err, who, sub, sizeof(sub));
	if (rc == 0) {
		/* On a domain, NTLM network logons accept the old password for a while
		 * (OldPasswordAllowedPeriod, 60 minutes by default). */
		snprintf(why, whylen, "changed, not verified: the old password still logs on as %s",
		    who);
		return VAULT_ERR_IO;
	}
	if (rc != VAULT_ERR_BADPASS) {
		snprintf(why, whylen, "changed, not verified: %s", sub);
		return VAULT_ERR_IO;
	}
	if (whylen > 0)
		why[0] = '\0';
	return 0;
}

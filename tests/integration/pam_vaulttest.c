/* SPDX-License-Identifier: ISC */
/*
 * pam_vaulttest.c - a PAM module for the launcher's tests only (never
 * installed): it appends one line per call to the file named by its
 * log=PATH argument, so a test can see what vault-launch asked PAM to do
 * and in what state:
 *
 *   auth USER                 pam_authenticate reached the stack
 *   account USER
 *   open USER authtok=set|unset prompt=answered|refused
 *                             (in the session, it asks an echo-off prompt:
 *                             once authentication is over, none may be
 *                             answered, and the password must be gone)
 *   close USER                pam_close_session
 *
 * It always returns PAM_SUCCESS except for auth, where it returns
 * PAM_IGNORE so that the real modules decide.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

static void
note(pam_handle_t *ph, int argc, const char **argv, const char *what, const char *extra)
{
	const char *user = "?", *path = NULL;
	char line[512];
	int fd, i, n;

	for (i = 0; i < argc; i++)
		if (strncmp(argv[i], "log=", 4) == 0)
			path = argv[i] + 4;
	if (path == NULL)
		return;
	(void)pam_get_item(ph, PAM_USER, (const void **)&user);
	n = snprintf(line, sizeof(line), "%s %s%s%s\n", what, user ? user : "?", extra ? " " : "", extra ? extra : "");
	if (n <= 0 || (size_t)n >= sizeof(line))
		return;
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644)) < 0)
		return;
	if (write(fd, line, (size_t)n) != n) {
		/* a test reading the log will see the line missing */
	}
	close(fd);
}

PAM_EXTERN int
pam_sm_authenticate(pam_handle_t *ph, int flags, int argc, const char **argv)
{
	(void)flags;
	note(ph, argc, argv, "auth", NULL);
	return PAM_IGNORE;
}

PAM_EXTERN int
pam_sm_setcred(pam_handle_t *ph, int flags, int argc, const char **argv)
{
	(void)ph;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_IGNORE;
}

PAM_EXTERN int
pam_sm_acct_mgmt(pam_handle_t *ph, int flags, int argc, const char **argv)
{
	(void)flags;
	note(ph, argc, argv, "account", NULL);
	return PAM_SUCCESS;
}

PAM_EXTERN int
pam_sm_open_session(pam_handle_t *ph, int flags, int argc, const char **argv)
{
	const void *tok = NULL;
	char *answer = NULL;
	char extra[64];
	int rc;

	(void)flags;
	(void)pam_get_item(ph, PAM_AUTHTOK, &tok);
	rc = pam_prompt(ph, PAM_PROMPT_ECHO_OFF, &answer, "vaulttest: a password again, please: ");
	snprintf(extra, sizeof(extra), "authtok=%s prompt=%s", tok != NULL ? "set" : "unset",
	    rc == PAM_SUCCESS && answer != NULL ? "answered" : "refused");
	if (answer != NULL) {
		memset(answer, 0, strlen(answer));
		free(answer);
	}
	note(ph, argc, argv, "open", extra);
	return PAM_SUCCESS;
}

PAM_EXTERN int
pam_sm_close_session(pam_handle_t *ph, int flags, int argc, const char **argv)
{
	(void)flags;
	note(ph, argc, argv, "close", NULL);
	return PAM_SUCCESS;
}

/* SPDX-License-Identifier: ISC */
/*
 * test_platform_win32.c - the Windows-only part of the platform layer
 * (issue 16, item 2), built and run under wine only: the judge of a security
 * descriptor (vault_plat_sd_ok) on descriptors built from SDDL strings, and
 * the held handle that keeps a vault file from being renamed, deleted or
 * replaced while SQLite has it. Wine stores no file DACLs (it derives one
 * from the Unix mode), so the judge is proven on descriptors; on files only
 * as far as that derived DACL goes (file_dacl_judged).
 */
#include <windows.h>
#include <sddl.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "platform.h"
#include "platform_win32.h"
#include "vault.h"

/* The user's SID and another's, as SDDL strings and as SIDs. */
static char user_s[192];
static unsigned char user_b[SECURITY_MAX_SID_SIZE];
#define OTHER_S "S-1-5-21-1111111111-2222222222-3333333333-1001"

static int
setup(void **state)
{
	union {
		TOKEN_USER user;
		unsigned char space[sizeof(TOKEN_USER) + SECURITY_MAX_SID_SIZE];
	} info;
	HANDLE token;
	DWORD len = 0;
	char *s = NULL;

	(void)state;
	if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token))
		return -1;
	if (!GetTokenInformation(token, TokenUser, &info, sizeof(info), &len) ||
	    !CopySid(sizeof(user_b), (PSID)user_b, info.user.User.Sid) ||
	    !ConvertSidToStringSidA((PSID)user_b, &s)) {
		CloseHandle(token);
		return -1;
	}
	CloseHandle(token);
	snprintf(user_s, sizeof(user_s), "%s", s);
	LocalFree(s);
	return 0;
}

/*
 * The judgement of the descriptor that SDDL template tmpl makes (each $U is
 * the user's SID), strict or not, with the reason in why.
 */
static int
judge(const char *tmpl, int strict, char *why, size_t whylen)
{
	PSECURITY_DESCRIPTOR sd = NULL;
	char sddl[1024];
	size_t n = 0, ul = strlen(user_s);
	int rc;

	for (; *tmpl != '\0'; tmpl++) {
		if (tmpl[0] == '$' && tmpl[1] == 'U') {
			assert_true(n + ul < sizeof(sddl));
			memcpy(sddl + n, user_s, ul);
			n += ul;
			tmpl++;
		} else {
			assert_true(n + 1 < sizeof(sddl));
			sddl[n++] = *tmpl;
		}
	}
	sddl[n] = '\0';
	if (!ConvertStringSecurityDescriptorToSecurityDescriptorA(sddl, SDDL_REVISION_1, &sd, NULL))
		fail_msg("bad SDDL %s: error %lu", sddl, (unsigned long)GetLastError());
	why[0] = '\0';
	rc = vault_plat_sd_ok(sd, (PSID)user_b, strict, why, whylen);
	LocalFree(sd);
	return rc;
}

static void
sd_user_alone_ok(void **state)
{
	char why[300];

	(void)state;
	/* Owner the user, protected DACL, only the user: the vault directory's and file's. */
	assert_int_equal(judge("O:$UD:P(A;;FA;;;$U)", 1, why, sizeof(why)), 0);
	assert_int_equal(judge("O:$UD:P(A;OICI;FA;;;$U)", 0, why, sizeof(why)), 0);
	/* SYSTEM and Administrators (the root of Windows) may have access. */
	assert_int_equal(judge("O:$UD:P(A;;FA;;;$U)(A;;FA;;;SY)(A;;FA;;;BA)", 1, why, sizeof(why)), 0);
	/* Deny entries are fine, for anyone. */
	assert_int_equal(judge("O:$UD:P(D;;FA;;;WD)(A;;FA;;;$U)(D;;FW;;;" OTHER_S ")", 1, why,
	    sizeof(why)), 0);
	/* Inherit-only entries grant nothing on the object itself. */
	assert_int_equal(judge("O:$UD:P(A;;FA;;;$U)(A;OICIIO;FA;;;WD)", 1, why, sizeof(why)), 0);
	/* An empty DACL grants nobody anything. */
	assert_int_equal(judge("O:$UD:P", 1, why, sizeof(why)), 0);
}

static void
sd_everyone_read_refused(void **state)
{
	char why[300];

	(void)state;
	assert_int_equal(judge("O:$UD:P(A;;FA;;;$U)(A;;FR;;;WD)", 1, why, sizeof(why)), VAULT_ERR_PERM);
	assert_non_null(strstr(why, "S-1-1-0"));
	/* Not strict (a directory, a keyfile's parent): reading is allowed, writing is not. */
	assert_int_equal(judge("O:$UD:P(A;;FA;;;$U)(A;;FR;;;WD)", 0, why, sizeof(why)), 0);
	assert_int_equal(judge("O:$UD:P(A;;FA;;;$U)(A;;FW;;;WD)", 0, why, sizeof(why)), VAULT_ERR_PERM);
	/* Authenticated Users and Users: others too. */
	assert_int_equal(judge("O:$UD:(A;;FA;;;$U)(A;;0x1;;;AU)", 1, why, sizeof(why)), VAULT_ERR_PERM);
	assert_int_equal(judge("O:$UD:(A;;FA;;;$U)(A;;GA;;;BU)", 0, why, sizeof(why)), VAULT_ERR_PERM);
}

static void
sd_other_write_refused(void **state)
{
	static const char *const rights[] = { "FW", "GW", "GA", "SD", "WD", "WO", "0x2", "0x4", "0x40" };
	char fmt[256], why[300];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rights) / sizeof(rights[0]); i++) {
		snprintf(fmt, sizeof(fmt), "O:$UD:P(A;;FA;;;$U)(A;;%s;;;" OTHER_S ")", rights[i]);
		assert_int_equal(judge(fmt, 0, why, sizeof(why)), VAULT_ERR_PERM);
		assert_non_null(strstr(why, OTHER_S));
		assert_non_null(strstr(why, "write access"));
	}
	/* Strict: any right at all, even only reading attributes. */
	assert_int_equal(judge("O:$UD:P(A;;FA;;;$U)(A;;0x80;;;" OTHER_S ")", 1, why, sizeof(why)),
	    VAULT_ERR_PERM);
	assert_int_equal(judge("O:$UD:P(A;;FA;;;$U)(A;;0x80;;;" OTHER_S ")", 0, why, sizeof(why)), 0);
}

static void
sd_null_dacl_refused(void **state)
{
	char why[300];

	SECURITY_DESCRIPTOR sd;

	(void)state;
	/* A NULL DACL (present, no list): everyone, everything. Built by hand:
	 * wine's SDDL parser makes an empty DACL of D:NO_ACCESS_CONTROL. */
	assert_true(InitializeSecurityDescriptor(&sd, SECURITY_DESCRIPTOR_REVISION));
	assert_true(SetSecurityDescriptorOwner(&sd, (PSID)user_b, FALSE));
	assert_true(SetSecurityDescriptorDacl(&sd, TRUE, NULL, FALSE));
	assert_int_equal(vault_plat_sd_ok(&sd, (PSID)user_b, 0, why, sizeof(why)), VAULT_ERR_PERM);
	assert_non_null(strstr(why, "no DACL"));
	/* The same descriptor with an empty DACL grants nobody anything: fine. */
	{
		ACL acl;

		assert_true(InitializeAcl(&acl, sizeof(acl), ACL_REVISION));
		assert_true(SetSecurityDescriptorDacl(&sd, TRUE, &acl, FALSE));
		assert_int_equal(vault_plat_sd_ok(&sd, (PSID)user_b, 1, why, sizeof(why)), 0);
	}
	/* No DACL given at all. */
	assert_int_equal(judge("O:$U", 0, why, sizeof(why)), VAULT_ERR_PERM);
	assert_non_null(strstr(why, "no DACL"));
}

static void
sd_owner_other_refused(void **state)
{
	char why[300];

	(void)state;
	assert_int_equal(judge("O:" OTHER_S "D:P(A;;FA;;;$U)", 1, why, sizeof(why)), VAULT_ERR_PERM);
	assert_non_null(strstr(why, "owned by " OTHER_S));
	assert_int_equal(judge("O:BAD:P(A;;FA;;;$U)", 0, why, sizeof(why)), VAULT_ERR_PERM);
	assert_non_null(strstr(why, "owned by S-1-5-32-544"));
	/* No owner. */
	assert_int_equal(judge("D:P(A;;FA;;;$U)", 0, why, sizeof(why)), VAULT_ERR_PERM);
	assert_non_null(strstr(why, "no owner"));
	/* (Object allow entries, which the judge refuses unread, cannot be built
	 * from SDDL under wine: error 1705.) */
	assert_int_equal(vault_plat_sd_ok(NULL, (PSID)user_b, 1, why, sizeof(why)), VAULT_ERR_PERM);
}

static void
scratch(char *path, size_t len, const char *what)
{
	const char *root = getenv("VAULT_BUILD_ROOT");

	assert_non_null(root);
	snprintf(path, len, "%s/test-platform-win32-%lu-%s.tmp", root, (unsigned long)vault_plat_pid(),
	    what);
	(void)remove(path);
	(void)remove(path);
}

/*
 * While the held descriptor is open, the vault file can be neither renamed,
 * deleted nor replaced (no FILE_SHARE_DELETE), yet SQLite opens it for reading
 * and writing; once it is closed, all of them work. Share modes are real under
 * wine.
 */
static void
held_file_cannot_be_swapped(void **state)
{
	char path[4096], other[4096], moved[4096];
	sqlite3 *db = NULL;
	int fd, held;

	(void)state;
	scratch(path, sizeof(path), "held");
	scratch(other, sizeof(other), "other");
	scratch(moved, sizeof(moved), "moved");
	fd = vault_plat_create_held(other);
	assert_true(fd >= 0);
	assert_int_equal(close(fd), 0);
	held = vault_plat_create_held(path);
	assert_true(held >= 0);
	assert_int_equal(rename(path, moved), -1);
	assert_int_equal(remove(path), -1);
	assert_false(MoveFileExA(other, path, MOVEFILE_REPLACE_EXISTING));
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE t(x); INSERT INTO t VALUES (1)", NULL, NULL, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
	assert_int_equal(close(held), 0);
	/* Reopened through the held open: the same rules. */
	held = vault_plat_open_held(path);
	assert_true(held >= 0);
	assert_int_equal(rename(path, moved), -1);
	assert_int_equal(close(held), 0);
	/* Released: the same calls now work (so the refusals were the handle's). */
	assert_int_equal(rename(path, moved), 0);
	assert_true(MoveFileExA(other, path, MOVEFILE_REPLACE_EXISTING));
	assert_int_equal(remove(path), 0);
	assert_int_equal(remove(moved), 0);
}

/*
 * The real file check, as far as wine lets it be seen: wine keeps no DACLs
 * but derives one from the Unix mode, so a file the C runtime made (mode
 * 0644 under the usual umask) shows Everyone read access and is refused; a
 * file made by vault_plat_create_held (protected, the user alone) is
 * trusted; setting a user-only protected DACL (wine: chmod 0600) makes the
 * first one trusted too.
 */
static void
file_dacl_judged(void **state)
{
	char path[4096], ours[4096], why[300];
	int fd;

	(void)state;
	scratch(path, sizeof(path), "crt");
	scratch(ours, sizeof(ours), "ours");
	fd = _open(path, _O_WRONLY | _O_CREAT | _O_EXCL | _O_BINARY, _S_IREAD | _S_IWRITE);
	assert_true(fd >= 0);
	assert_int_equal(close(fd), 0);
	fd = vault_plat_open_held(path);
	assert_true(fd >= 0);
	why[0] = '\0';
	if (vault_plat_is_wine()) {
		assert_int_equal(vault_plat_trust_fd(fd, 1, why, sizeof(why)), VAULT_ERR_PERM);
		assert_non_null(strstr(why, "the DACL gives"));
	} else {
		print_message("# not wine: a C runtime file here is judged %d (%s); its DACL is inherited\n",
		    vault_plat_trust_fd(fd, 1, why, sizeof(why)), why);
	}
	assert_int_equal(close(fd), 0);
	fd = vault_plat_create_held(ours);
	assert_true(fd >= 0);
	assert_int_equal(vault_plat_trust_fd(fd, 1, why, sizeof(why)), 0);
	assert_int_equal(close(fd), 0);
	assert_int_equal(remove(ours), 0);
	assert_int_equal(remove(path), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sd_user_alone_ok),
		cmocka_unit_test(sd_everyone_read_refused),
		cmocka_unit_test(sd_other_write_refused),
		cmocka_unit_test(sd_null_dacl_refused),
		cmocka_unit_test(sd_owner_other_refused),
		cmocka_unit_test(held_file_cannot_be_swapped),
		cmocka_unit_test(file_dacl_judged),
	};

	return cmocka_run_group_tests_name("platform_win32", tests, setup, NULL);
}

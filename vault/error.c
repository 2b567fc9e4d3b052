/* SPDX-License-Identifier: ISC */
/*
 * error.c - wording of VAULT_ERR_* codes and their exit codes, and the
 * detail of the last failure (vault_detail, vault_errdetail).
 *
 * The words are static and never contain secrets; programs print them
 * with the detail that vault_errdetail() adds.
 */
#include <stdarg.h>
#include <stdio.h>

#include "internal.h"

/*
 * The detail of the last failure: per handle, or per thread for a failure
 * with no handle (vault_open, vault_create).
 */
static _Thread_local char open_detail[256];

void
vault_detail(vault *v, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v ? v->detail : open_detail, v ? sizeof(v->detail) : sizeof(open_detail), fmt, ap);
	va_end(ap);
}

const char *
vault_errdetail(const vault *v)
{
	return v ? v->detail : open_detail;
}

const char *
vault_open_errdetail(void)
{
	return open_detail;
}

const char *
vault_strerror(int err)
{
	switch (err) {
	case VAULT_OK:
		return "success";
	case VAULT_ERR_NOMEM:
		return "out of memory";
	case VAULT_ERR_IO:
		return "input/output error";
	case VAULT_ERR_INVAL:
		return "invalid argument";
	case VAULT_ERR_EXISTS:
		return "already exists";
	case VAULT_ERR_NOTFOUND:
		return "not found";
	case VAULT_ERR_BADPASS:
		return "wrong passphrase or keyfile";
	case VAULT_ERR_CORRUPT:
		return "vault is damaged or was tampered with";
	case VAULT_ERR_NOTVAULT:
		return "not a vault";
	case VAULT_ERR_NEWER:
		return "vault was made by a newer version of vault";
	case VAULT_ERR_PERM:
		return "unsafe ownership or permissions";
	case VAULT_ERR_LASTSLOT:
		return "refusing to remove the last keyslot";
	case VAULT_ERR_LOCKED:
		return "vault is locked";
	case VAULT_ERR_POLICY:
		return "refused by policy";
	case VAULT_ERR_PROTO:
		return "malformed data";
	case VAULT_ERR_TOOBIG:
		return "too large";
	case VAULT_ERR_BUSY:
		return "vault is busy";
	case VAULT_ERR_NAME:
		return "invalid name: use 1 to 128 printable UTF-8 characters";
	case VAULT_ERR_EMPTY:
		return "empty value refused";
	case VAULT_ERR_VERSION:
		return "protocol version mismatch";
	case VAULT_ERR_NOAGENT:
		return "no agent is running";
	case VAULT_ERR_SYMLINK:
		return "path is a symbolic link";
	case VAULT_ERR_FULL:
		return "disk full or file size limit reached";
	case VAULT_ERR_REPLACED:
		return "the vault file was replaced or deleted while open";
	case VAULT_ERR_BOUND:
		return "the vault is bound: it needs its keyfile and the passphrase together";
	case VAULT_ERR_NOPLATFORM:
		return "not available on this platform"; /* the detail says what: DPAPI, a target, ... */
	case VAULT_ERR_DEFER:
		return "a passphrase check is in progress";
	default:
		return "unknown error";
	}
}

int
vault_exit_code(int err)
{
	switch (err) {
	case VAULT_OK:
		return VAULT_EXIT_OK;
	case VAULT_ERR_INVAL:
	case VAULT_ERR_NAME:
	case VAULT_ERR_EMPTY:
	case VAULT_ERR_TOOBIG:
	case VAULT_ERR_NOPLATFORM: /* asked for what this build cannot do: a usage error here */
		return VAULT_EXIT_USAGE;
	case VAULT_ERR_BADPASS:
	case VAULT_ERR_BOUND:
	case VAULT_ERR_LOCKED:
	case VAULT_ERR_NOAGENT:
		return VAULT_EXIT_LOCKED;
	case VAULT_ERR_NOTFOUND:
		return VAULT_EXIT_NOTFOUND;
	case VAULT_ERR_POLICY:
		return VAULT_EXIT_POLICY;
	case VAULT_ERR_CORRUPT:
	case VAULT_ERR_NOTVAULT:
	case VAULT_ERR_NEWER:
		return VAULT_EXIT_DAMAGED;
	default:
		return VAULT_EXIT_ERROR;
	}
}

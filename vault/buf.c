/* SPDX-License-Identifier: ISC */
/*
 * buf.c - the bounded reader and the growing writer.
 *
 * Everything libvault parses from outside (wire frames, sealed records,
 * keyslots) goes through vault_rd: each getter checks the remaining
 * length before it reads, and vault_rd_end() rejects trailing bytes.
 * Integers are big-endian. vault_wr grows by doubling up to a hard limit,
 * wipes every buffer it discards, and keeps the first error it hits so
 * that callers can chain writes and check once.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "platform.h"

/*
 * Secure blocks are sodium_malloc()'d (guard pages, mlock), which costs
 * several system calls each (mmap, mlock, mprotect; munlock, munmap), and
 * fills and wipes the whole block; on the release path that was half of
 * the agent's time. Freed blocks are therefore wiped and kept, a few per
 * size class, for the next request: still locked, still guarded, never
 * holding old bytes. The two big classes are for what a busy agent makes
 * over and over: LIST answers of hundreds of accounts (256 KiB, 1 MiB).
 *
 * Wiping: a block is wiped over the bytes its user wrote (vault_wr keeps
 * that high-water mark, vault_secure_free_used()), not over the whole
 * class: a fresh block holds sodium_malloc()'s fill pattern, a pooled one
 * zeros beyond what its last user wrote, so what was never written holds
 * nothing to wipe. vault_secure_free() (the size asked for) wipes it all.
 * A block that leaves the pool goes through sodium_free(), which wipes
 * the whole region itself.
 */
#define POOL_CLASSES 8 /* 64 B, 256 B, 1 KiB, 4 KiB, 16 KiB, 64 KiB, 256 KiB, 1 MiB */
#define POOL_DEPTH 32

/*
 * How many free blocks each class keeps. The small classes are deep: the
 * agent's group commit holds one answer per connection in the batch (up
 * to 64 clients at once in load.sh) until the commit.
 */
static const int pool_depth[POOL_CLASSES] = { 32, 32, 32, 16, 8, 8, 8, 2 };

static struct {
	void *blk[POOL_DEPTH];
	int n;
} pool[POOL_CLASSES];
static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;

/*
 * vault-agent forks rotation workers while its derivation thread may be
 * inside vault_secure_alloc(): without these the child could inherit a
 * held pool_mu and hang on its first secure buffer.
 */
static void
pool_prefork(void)
{
	pthread_mutex_lock(&pool_mu);
}

static void
pool_postfork(void)
{
	pthread_mutex_unlock(&pool_mu);
}

static void
pool_atfork(void)
{
	(void)vault_plat_atfork(pool_prefork, pool_postfork, pool_postfork);
}

void
vault_buf_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	(void)pthread_once(&once, pool_atfork);
}

static int
pool_class(size_t n)
{
	size_t size = 64;
	int c;

	for (c = 0; c < POOL_CLASSES; c++, size *= 4)
		if (n <= size)
			return c;
	return -1;
}

size_t
vault_secure_size(size_t n)
{
	int c = pool_class(n);

	return c < 0 ? n : (size_t)64 << (2 * c);
}

void *
vault_secure_alloc(size_t n)
{
	int c = pool_class(n);
	void *p = NULL;

	if (c >= 0) {
		pthread_mutex_lock(&pool_mu);
		if (pool[c].n > 0)
			p = pool[c].blk[--pool[c].n];
		pthread_mutex_unlock(&pool_mu);
		if (p != NULL)
			return p;
	}
	return sodium_malloc(vault_secure_size(n));
}

void
vault_secure_free_used(void *p, size_t n, size_t used)
{
	size_t size = vault_secure_size(n);
	int c = pool_class(n);

	if (p == NULL)
		return;
	if (c >= 0) {
		sodium_memzero(p, used < size ? used : size);
		pthread_mutex_lock(&pool_mu);
		if (pool[c].n < pool_depth[c]) {
			pool[c].blk[pool[c].n++] = p;
			p = NULL;
		}
		pthread_mutex_unlock(&pool_mu);
	}
	sodium_free(p); /* NULL when pooled; else it wipes the whole block */
}

void
vault_secure_free(void *p, size_t n)
{
	vault_secure_free_used(p, n, vault_secure_size(n));
}

int
vault_rd_bytes(vault_rd *r, void *dst, size_t n)
{
	if (n > r->len)
		return VAULT_ERR_PROTO;
	if (n > 0)
		memcpy(dst, r->p, n);
	r->p += n;
	r->len -= n;
	return 0;
}

int
vault_rd_u8(vault_rd *r, uint8_t *v)
{
	return vault_rd_bytes(r, v, 1);
}

int
vault_rd_u32(vault_rd *r, uint32_t *v)
{
	unsigned char b[4];
	int rc;

	if ((rc = vault_rd_bytes(r, b, sizeof(b))) != 0)
		return rc;
	*v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
	return 0;
}

int
vault_rd_u64(vault_rd *r, uint64_t *v)
{
	uint32_t hi, lo;
	int rc;

	if ((rc = vault_rd_u32(r, &hi)) != 0 || (rc = vault_rd_u32(r, &lo)) != 0)
		return rc;
	*v = (uint64_t)hi << 32 | lo;
	return 0;
}

int
vault_rd_str(vault_rd *r, const unsigned char **p, size_t *n)
{
	uint32_t len;
	int rc;

	if ((rc = vault_rd_u32(r, &len)) != 0)
		return rc;
	if (len > r->len)
		return VAULT_ERR_PROTO;
	*p = r->p;
	*n = len;
	r->p += len;
	r->len -= len;
	return 0;
}

int
vault_rd_cstr(vault_rd *r, char **out, size_t max)
{
	const unsigned char *p;
	size_t n;

	*out = NULL;
	if (vault_rd_str(r, &p, &n) != 0 || n > max || memchr(p, '\0', n) != NULL)
		return VAULT_ERR_PROTO;
	if ((*out = malloc(n + 1)) == NULL)
		return VAULT_ERR_NOMEM;
	memcpy(*out, p, n);
	(*out)[n] = '\0';
	return 0;
}

int
vault_rd_end(const vault_rd *r)
{
	return r->len == 0 ? 0 : VAULT_ERR_PROTO;
}

void
vault_wr_init(vault_wr *w, int secure, size_t limit)
{
	memset(w, 0, sizeof(*w));
	w->secure = secure;
	w->limit = limit ? limit : VAULT_WR_DEFAULT_LIMIT;
}

/* Wipes what was written (used: the high-water mark) and frees. */
static void
wr_release(unsigned char *p, size_t cap, size_t used, int secure)
{
	if (p == NULL)
		return;
	if (used > cap)
		used = cap;
	if (secure) {
		vault_secure_free_used(p, cap, used);
	} else {
		sodium_memzero(p, used);
		free(p);
	}
}

static int
wr_reserve(vault_wr *w, size_t n)
{
	unsigned char *np;
	size_t ncap;

	if (w->err)
		return w->err;
	if (SIZE_MAX - w->len < n || w->len + n > w->limit)
		return w->err = VAULT_ERR_TOOBIG;
	if (w->len + n <= w->cap)
		return 0;
	ncap = w->cap ? w->cap : 64;
	while (ncap < w->len + n)
		ncap = ncap > w->limit / 2 ? w->limit : ncap * 2;
	if (w->secure)
		ncap = vault_secure_size(ncap);
	np = w->secure ? vault_secure_alloc(ncap) : malloc(ncap);
	if (np == NULL)
		return w->err = VAULT_ERR_NOMEM;
	if (w->len > 0)
		memcpy(np, w->p, w->len);
	wr_release(w->p, w->cap, w->hwm, w->secure);
	w->p = np;
	w->cap = ncap;
	return 0;
}

int
vault_wr_bytes(vault_wr *w, const void *src, size_t n)
{
	int rc;

	if ((rc = wr_reserve(w, n)) != 0)
		return rc;
	if (n > 0 && src != NULL)
		memcpy(w->p + w->len, src, n);
	else if (n > 0)
		memset(w->p + w->len, 0, n); /* room to read into */
	w->len += n;
	if (w->len > w->hwm)
		w->hwm = w->len;
	return 0;
}

int
vault_wr_u8(vault_wr *w, uint8_t v)
{
	return vault_wr_bytes(w, &v, 1);
}

int
vault_wr_u32(vault_wr *w, uint32_t v)
{
	unsigned char b[4] = { (unsigned char)(v >> 24), (unsigned char)(v >> 16),
		(unsigned char)(v >> 8), (unsigned char)v };

	return vault_wr_bytes(w, b, sizeof(b));
}

int
vault_wr_u64(vault_wr *w, uint64_t v)
{
	int rc;

	if ((rc = vault_wr_u32(w, (uint32_t)(v >> 32))) != 0)
		return rc;
	return vault_wr_u32(w, (uint32_t)v);
}

int
vault_wr_str(vault_wr *w, const void *src, size_t n)
{
	int rc;

	if (w->err)
		return w->err;
	if (n > UINT32_MAX)
		return w->err = VAULT_ERR_TOOBIG;
	if ((rc = vault_wr_u32(w, (uint32_t)n)) != 0)
		return rc;
	return vault_wr_bytes(w, src, n);
}

int
vault_wr_cstr(vault_wr *w, const char *s)
{
	return vault_wr_str(w, s ? s : "", s ? strlen(s) : 0);
}

void
vault_wr_reset(vault_wr *w, size_t keep)
{
	if (w->p != NULL && w->cap <= keep) {
		sodium_memzero(w->p, w->hwm < w->cap ? w->hwm : w->cap);
		w->len = w->hwm = 0;
		w->err = 0;
		return;
	}
	vault_wr_free(w);
}

void
vault_wr_free(vault_wr *w)
{
	if (w == NULL)
		return;
	wr_release(w->p, w->cap, w->hwm, w->secure);
	w->p = NULL;
	w->len = w->cap = w->hwm = 0;
	w->err = 0;
}

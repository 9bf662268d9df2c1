/*
 * bypass.c - counting and telling once what the stack does not carry
 * (bypass.h): the reasons' names, the once-per-kind table, and the
 * messages for sockets and options, which name the family, type, level
 * and option as a program's source would.
 */
#include "sockapi/bypass.h"
#include "sockapi/socket_priv.h"

#include <netinet/tcp.h>
#include <stdarg.h>
#include <sys/socket.h>

static const char *const zc__bypass_names[ZC_BYPASS__COUNT] = {
#define ZC__BYPASS_NAME(id, name, level) [ZC_BYPASS_##id] = name,
	ZC_BYPASS_REASONS(ZC__BYPASS_NAME)
#undef ZC__BYPASS_NAME
};

static const int zc__bypass_levels[ZC_BYPASS__COUNT] = {
#define ZC__BYPASS_LEVEL(id, name, level) [ZC_BYPASS_##id] = level,
	ZC_BYPASS_REASONS(ZC__BYPASS_LEVEL)
#undef ZC__BYPASS_LEVEL
};

const char *zc_bypass_name(enum zc_bypass_reason why)
{
	return (unsigned)why < ZC_BYPASS__COUNT ? zc__bypass_names[why] : "unknown";
}

uint64_t zc_bypass_count(const struct zc_bypasses *b, enum zc_bypass_reason why)
{
	return (unsigned)why < ZC_BYPASS__COUNT ? atomic_load(&b->n[why]) : 0;
}

void zc_bypass_reset(struct zc_bypasses *b)
{
	for (int i = 0; i < ZC_BYPASS__COUNT; i++)
		atomic_store(&b->n[i], 0);
	for (int i = 0; i < ZC_BYPASS_TOLD_MAX; i++)
		atomic_store(&b->told[i], 0);
	atomic_store(&b->told_full, false);
}

void zc_bypass_dump(const struct zc_bypasses *b, FILE *f)
{
	for (int i = 0; i < ZC_BYPASS__COUNT; i++)
		fprintf(f, "bypass_%s %llu\n", zc__bypass_names[i], (unsigned long long)atomic_load(&b->n[i]));
}

/* (reason, kind) as one nonzero word: the reason in the top byte (+1),
 * the kind in the 56 bits below (levels and names are small, requests 32 bits). */
static uint64_t zc__bypass_key(enum zc_bypass_reason why, uint64_t kind)
{
	return ((uint64_t)why + 1) << 56 | (kind & ((1ull << 56) - 1));
}

/* First time for this key? Claims a free slot if so; false when it was
 * told. When the table is full: first only if it is its reason's first. */
static bool zc__bypass_first(struct zc_bypasses *b, uint64_t key, bool reason_first)
{
	for (int i = 0; i < ZC_BYPASS_TOLD_MAX; i++) {
		uint64_t cur = atomic_load(&b->told[i]);
		if (cur == key)
			return false;
		if (cur == 0) {
			uint64_t zero = 0;
			if (atomic_compare_exchange_strong(&b->told[i], &zero, key))
				return true;
			if (zero == key) /* another thread claimed it for the same kind */
				return false;
		}
	}
	if (!atomic_exchange(&b->told_full, true))
		ZC_WARN("bypass: more than %d kinds of pass-by: further kinds are counted (zcstat), "
			"and told only when they are their reason's first", ZC_BYPASS_TOLD_MAX);
	return reason_first;
}

bool zc_bypass(struct zc_bypasses *b, enum zc_bypass_reason why, uint64_t kind, const char *fmt, ...)
{
	if ((unsigned)why >= ZC_BYPASS__COUNT)
		return false;
	bool reason_first = atomic_fetch_add(&b->n[why], 1) == 0;
	int level = zc__bypass_levels[why];
	if (level < 0 || level > (int)zc_log_get_level())
		return false;
	if (!zc__bypass_first(b, zc__bypass_key(why, kind), reason_first))
		return false;
	char text[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	zc_log((enum zc_log_level)level, "bypass %s: %s (counted as bypass_%s in zcstat; told once)",
	       zc__bypass_names[why], text, zc__bypass_names[why]);
	return true;
}

/* --- names for the messages --------------------------------------------------- */

struct zc__name {
	int v;
	const char *s;
};

static const char *zc__find(const struct zc__name *t, size_t n, int v)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].v == v)
			return t[i].s;
	return NULL;
}
#define ZC__FIND(t, v) zc__find(t, sizeof(t) / sizeof(t[0]), v)

static const struct zc__name zc__families[] = {
	{ AF_UNIX, "AF_UNIX" },       { AF_INET, "AF_INET" },         { AF_INET6, "AF_INET6" },
	{ AF_NETLINK, "AF_NETLINK" }, { AF_PACKET, "AF_PACKET" },     { AF_ALG, "AF_ALG" },
	{ AF_VSOCK, "AF_VSOCK" },     { AF_BLUETOOTH, "AF_BLUETOOTH" }, { AF_XDP, "AF_XDP" },
	{ AF_KEY, "AF_KEY" },         { AF_CAN, "AF_CAN" },           { AF_TIPC, "AF_TIPC" },
};

static const struct zc__name zc__types[] = {
	{ SOCK_STREAM, "SOCK_STREAM" }, { SOCK_DGRAM, "SOCK_DGRAM" },         { SOCK_RAW, "SOCK_RAW" },
	{ SOCK_RDM, "SOCK_RDM" },       { SOCK_SEQPACKET, "SOCK_SEQPACKET" }, { SOCK_PACKET, "SOCK_PACKET" },
};

void zc_bypass_socket(struct zc_bypasses *b, int domain, int type, int protocol)
{
	int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
	const char *fam = ZC__FIND(zc__families, domain), *ty = ZC__FIND(zc__types, base);
	char fbuf[16], tbuf[16];
	if (fam == NULL)
		snprintf(fbuf, sizeof(fbuf), "%d", domain), fam = fbuf;
	if (ty == NULL)
		snprintf(tbuf, sizeof(tbuf), "%d", base), ty = tbuf;
	if (domain == AF_UNIX || domain == AF_NETLINK || domain == AF_ALG) {
		zc_bypass(b, ZC_BYPASS_FAMILY_LOCAL, (uint64_t)domain, "socket(%s)", fam);
	} else if (domain == AF_INET || domain == AF_INET6) {
		/* an IP family the stack may carry, but not this type or protocol */
		zc_bypass(b, ZC_BYPASS_TYPE, (uint64_t)(unsigned)domain << 40 | (uint64_t)(unsigned)base << 16 |
					       (uint16_t)protocol,
			  "socket(%s, %s, %d): the stack carries TCP (SOCK_STREAM) and UDP (SOCK_DGRAM) only; "
			  "this socket is the kernel's, on the kernel's interfaces, not the stack's NIC",
			  fam, ty, protocol);
	} else {
		zc_bypass(b, ZC_BYPASS_FAMILY, (uint64_t)(unsigned)domain,
			  "socket(%s, %s, %d): the stack carries AF_INET and AF_INET6 only; this socket is the kernel's, "
			  "on the kernel's interfaces, not the stack's NIC",
			  fam, ty, protocol);
	}
}

static const struct zc__name zc__levels[] = {
	{ SOL_SOCKET, "SOL_SOCKET" },   { IPPROTO_IP, "IPPROTO_IP" },   { IPPROTO_TCP, "IPPROTO_TCP" },
	{ IPPROTO_UDP, "IPPROTO_UDP" }, { IPPROTO_IPV6, "IPPROTO_IPV6" },
};

/* The options programs set most often that the stack does not have. */
static const struct zc__name zc__sol_socket[] = {
	{ SO_BROADCAST, "SO_BROADCAST" },   { SO_PRIORITY, "SO_PRIORITY" },   { SO_BINDTODEVICE, "SO_BINDTODEVICE" },
	{ SO_MARK, "SO_MARK" },             { SO_TIMESTAMP, "SO_TIMESTAMP" }, { SO_OOBINLINE, "SO_OOBINLINE" },
	{ SO_RCVLOWAT, "SO_RCVLOWAT" },     { SO_SNDLOWAT, "SO_SNDLOWAT" },   { SO_DONTROUTE, "SO_DONTROUTE" },
	{ SO_ZEROCOPY, "SO_ZEROCOPY" },     { SO_BUSY_POLL, "SO_BUSY_POLL" }, { SO_TIMESTAMPNS, "SO_TIMESTAMPNS" },
	{ SO_PEERCRED, "SO_PEERCRED" },     { SO_PASSCRED, "SO_PASSCRED" },
};
static const struct zc__name zc__sol_ip[] = {
	{ IP_TOS, "IP_TOS" },                     { IP_TTL, "IP_TTL" },
	{ IP_MTU_DISCOVER, "IP_MTU_DISCOVER" },   { IP_RECVERR, "IP_RECVERR" },
	{ IP_PKTINFO, "IP_PKTINFO" },             { IP_MULTICAST_TTL, "IP_MULTICAST_TTL" },
	{ IP_MULTICAST_IF, "IP_MULTICAST_IF" },   { IP_MULTICAST_LOOP, "IP_MULTICAST_LOOP" },
	{ IP_ADD_MEMBERSHIP, "IP_ADD_MEMBERSHIP" }, { IP_FREEBIND, "IP_FREEBIND" },
	{ IP_TRANSPARENT, "IP_TRANSPARENT" },     { IP_BIND_ADDRESS_NO_PORT, "IP_BIND_ADDRESS_NO_PORT" },
};
static const struct zc__name zc__sol_tcp[] = {
	{ TCP_FASTOPEN, "TCP_FASTOPEN" },         { TCP_USER_TIMEOUT, "TCP_USER_TIMEOUT" },
	{ TCP_DEFER_ACCEPT, "TCP_DEFER_ACCEPT" }, { TCP_NOTSENT_LOWAT, "TCP_NOTSENT_LOWAT" },
	{ TCP_WINDOW_CLAMP, "TCP_WINDOW_CLAMP" }, { TCP_SYNCNT, "TCP_SYNCNT" },
	{ TCP_LINGER2, "TCP_LINGER2" },           { TCP_FASTOPEN_CONNECT, "TCP_FASTOPEN_CONNECT" },
	{ TCP_ULP, "TCP_ULP" },
};

void zc_bypass_option(struct zc_bypasses *b, bool set, int level, int name, int err)
{
	const char *lv = ZC__FIND(zc__levels, level), *nm = NULL;
	char lbuf[16], nbuf[16];
	if (level == SOL_SOCKET)
		nm = ZC__FIND(zc__sol_socket, name);
	else if (level == IPPROTO_IP)
		nm = ZC__FIND(zc__sol_ip, name);
	else if (level == IPPROTO_TCP)
		nm = ZC__FIND(zc__sol_tcp, name);
	if (lv == NULL)
		snprintf(lbuf, sizeof(lbuf), "%d", level), lv = lbuf;
	if (nm == NULL)
		snprintf(nbuf, sizeof(nbuf), "%d", name), nm = nbuf;
	/* set and get of one option are one kind each: both are worth a line */
	uint64_t kind = (uint64_t)set << 55 | (uint64_t)(uint32_t)level << 24 | (uint32_t)name;
	zc_bypass(b, ZC_BYPASS_OPTION, kind,
		  "%s(%s, %s): not an option the stack has: the call fails with %s and the "
		  "socket goes on without it",
		  set ? "setsockopt" : "getsockopt", lv, nm, strerrorname_np(err) ? strerrorname_np(err) : "an error");
}

/* --- the context's counters ---------------------------------------------------- */

void zc_bypass_merge(struct zc_bypasses *dst, const struct zc_bypasses *src)
{
	for (int i = 0; i < ZC_BYPASS__COUNT; i++)
		atomic_fetch_add(&dst->n[i], atomic_load(&src->n[i]));
	for (int i = 0; i < ZC_BYPASS_TOLD_MAX; i++) {
		uint64_t key = atomic_load(&src->told[i]);
		if (key)
			zc__bypass_first(dst, key, false);
	}
}

struct zc_bypasses *zc__sockctx_bypasses(struct zc_sockctx *cx)
{
	return cx->bypass;
}

/*
 * bypass.h - named reasons for what the socket layer and the preload shim
 * do not carry on the stack (internal to sockapi/; not installed).
 *
 * "Nothing silent": a socket, an option, an ioctl or a call that the stack
 * leaves to the kernel (or refuses) is counted under its reason in a
 * struct zc_bypasses, and the first time each kind of it happens, one log
 * line says what passed by, why, and what the program can do. zcstat
 * prints the counters as "bypass_<name> N" (zc_sockctx_dump).
 *
 * There is no global counter here: the owner passes the struct in. A
 * context has its own (native programs); the preload shim owns one for
 * the process (preload.c), because sockets pass by before any context
 * exists (a unix socket at start-up) or when none ever will, and makes its
 * context count into it (zc__sockctx_bypass_to). Tests reset theirs with
 * zc_bypass_reset.
 */
#ifndef ZC_SOCKAPI_BYPASS_H
#define ZC_SOCKAPI_BYPASS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/*
 * X(id, name, level): level is the log level of a reason's one line, or
 * -1 for none. family_local is quiet by design: unix, netlink and AF_ALG
 * sockets are conversations with other processes or with this host's
 * kernel (glibc's getaddrinfo opens a netlink socket in nearly every
 * program); no stack could carry them, so a line about them would only
 * teach users to ignore the others. They are still counted.
 */
#define ZC_BYPASS_REASONS(X)                                                       \
	X(FAMILY_LOCAL, "family_local", -1) /* AF_UNIX, AF_NETLINK, AF_ALG: local IPC */ \
	X(FAMILY, "family", 1)            /* another family (AF_PACKET, AF_BLUETOOTH, ...) */ \
	X(TYPE, "type", 1)                /* an IP family, a type or protocol the stack lacks (SOCK_RAW) */ \
	X(BIND, "bind", 1)                /* bound to an address that is not the stack's */ \
	X(CONNECT, "connect", 1)          /* a destination the stack does not reach */ \
	X(IPV6, "ipv6", 1)                /* a native IPv6 address: bind/connect to the kernel, sendto refused */ \
	X(V6ONLY, "v6only", 1)            /* an IPV6_V6ONLY socket bound to [::]: IPv6 peers only, the kernel's */ \
	X(LOOPBACK_LISTEN, "loopback_listen", 1) /* a wildcard listener the kernel's loopback cannot reach (port taken) */ \
	X(LOOPBACK_ACCEPT, "loopback_accept", 1) /* a connection to a wildcard listener over the kernel (127.0.0.1, ::1) */ \
	X(OPTION, "option", 1)            /* a socket option the stack does not have */ \
	X(IOCTL, "ioctl", 1)              /* an ioctl on a stack socket that goes to its placeholder */ \
	X(NOSTACK, "nostack", 1)          /* an IPv4 socket in a process without a stack */ \
	X(EXEC, "exec", 1)                /* an exec with inheritable stack sockets: the new program cannot have them */ \
	X(FORK, "fork", 0)                /* a child used its parent's stack socket (EBADF) */ \
	X(CALL, "call", 1)                /* a libc call the shim cannot carry on a stack socket (POSIX AIO) */

enum zc_bypass_reason {
#define ZC__BYPASS_ENUM(id, name, level) ZC_BYPASS_##id,
	ZC_BYPASS_REASONS(ZC__BYPASS_ENUM)
#undef ZC__BYPASS_ENUM
	ZC_BYPASS__COUNT
};

/* Kinds already told, (reason, value) pairs: a program that sets 64
 * different unknown options has said enough; past that, a kind is told
 * only when it is its reason's first, and one line says so. */
#define ZC_BYPASS_TOLD_MAX 64

/* Lock-free (atomics only): calls come from any thread, with or without
 * the context's lock held. All zero is the initial state. */
struct zc_bypasses {
	_Atomic uint64_t n[ZC_BYPASS__COUNT];
	_Atomic uint64_t told[ZC_BYPASS_TOLD_MAX]; /* zc__bypass_key()s; 0 = free */
	_Atomic bool told_full;
};

/*
 * Count one pass-by of reason why in b, and log it (fmt, printf-style:
 * what passed by and what the program can do) if this (why, kind) was
 * not told before. kind tells values of a reason apart (a family, an
 * option's level and name, an ioctl request); 0 where one line per reason
 * is enough (bind, connect). Returns whether it logged (false for a quiet
 * reason, or when the log level hides it).
 */
bool zc_bypass(struct zc_bypasses *b, enum zc_bypass_reason why, uint64_t kind, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* A socket() that does not go to the stack, classified: family_local,
 * family or type (the caller decided it is not carried; this says why). */
void zc_bypass_socket(struct zc_bypasses *b, int domain, int type, int protocol);

/* An option (set: setsockopt, else getsockopt) the stack does not have;
 * err is the errno the call returns. */
void zc_bypass_option(struct zc_bypasses *b, bool set, int level, int name, int err);

/* All counters and the kinds told back to zero. */
void zc_bypass_reset(struct zc_bypasses *b);
uint64_t zc_bypass_count(const struct zc_bypasses *b, enum zc_bypass_reason why);
/* The reason's name ("family"), or "unknown". */
const char *zc_bypass_name(enum zc_bypass_reason why);
/* "bypass_<name> N", one line per reason (zcstat). */
void zc_bypass_dump(const struct zc_bypasses *b, FILE *f);

/* Add src's counts to dst's, and its kinds told to those dst has told. */
void zc_bypass_merge(struct zc_bypasses *dst, const struct zc_bypasses *src);

/* Where a context counts its pass-bys: in its shared memory, so that every
 * process of the stack counts into one set (zcstat of any shows them all)
 * and a kind is told once for the stack. The preload counts there too, once
 * the stack has started. */
struct zc_sockctx;
struct zc_bypasses *zc__sockctx_bypasses(struct zc_sockctx *cx);

/* exec, for the preload (procs.c has the rules): prepare under the lock
 * with pass[fd] for each descriptor (ZC__MAXFD entries at least its
 * table's); false when the new image cannot take the stack. exec_failed
 * undoes it. shm_fd: the descriptor that passes, for ZCS_SHM. fds: each(fd)
 * for every descriptor of this process's that names a socket. */
bool zc__sockctx_exec_prepare(struct zc_sockctx *cx, const uint8_t *pass);
void zc__sockctx_exec_failed(struct zc_sockctx *cx);
int zc__sockctx_shm_fd(struct zc_sockctx *cx);
/* The process the context is this one's in (a vfork child, which runs in
 * its parent's memory without the fork handlers, has another pid). */
pid_t zc__sockctx_pid(struct zc_sockctx *cx);
/* zcstat --hold-lock: take the stack lock for ms, saying so on f first */
void zc__sockctx_hold(struct zc_sockctx *cx, unsigned ms, FILE *f);
int zc__sockctx_fds(struct zc_sockctx *cx, void (*each)(int fd));

#endif

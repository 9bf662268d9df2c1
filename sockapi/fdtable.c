/*
 * fdtable.c - the socket table: descriptor numbers to sockets.
 *
 * Each socket reserves a kernel descriptor number (an unbound kernel
 * socket of the same type, close-on-exec only when the program asked, as
 * its FD_CLOEXEC is the kernel's), so its number never collides
 * with the process's own files; cx->tab maps the number to the socket.
 * dup gives a socket several numbers (nfds); a socket goes when its last
 * number is closed and no thread is inside a call on it (users).
 */
#include "sockapi/socket_priv.h"
#include "sockapi/zerocopy.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

/* The socket itself goes (its descriptor numbers are closed by the caller). */
void zc__sock_free(struct zc_sockctx *cx, struct zc__sock *s)
{
	if (s->tcp)
		zc_tcp_close(s->tcp);
	if (s->udp)
		zc_udp_close(s->udp);
	zc__zc_add(cx->zz, &s->zs);
	zc__set_async(cx, s, false);
	zc_arena_free(cx->arena, s);
}

/* Make room in the table for descriptor fd (lock held); 0 or -ENOMEM. */
static int zc__tab_grow(struct zc_sockctx *cx, int fd)
{
	if (fd < cx->tabcap)
		return 0;
	int cap = cx->tabcap ? cx->tabcap : 256;
	while (cap <= fd)
		cap *= 2;
	struct zc__sock **t = zc_arena_realloc(cx->arena, cx->tab, (size_t)cap * sizeof(*t));
	if (t == NULL)
		return -ENOMEM;
	memset(t + cx->tabcap, 0, (size_t)(cap - cx->tabcap) * sizeof(*t));
	cx->tab = t;
	cx->tabcap = cap;
	zc__procs_tab(cx);
	return 0;
}

int zc__install(struct zc_sockctx *cx, struct zc__sock *s, int flags)
{
	/* a kernel socket of the same type holds the number */
	s->sid = ++cx->shm->next_sid;
	s->fd = socket(s->family, s->type | (flags & SOCK_CLOEXEC), 0);
	if (s->fd < 0)
		return -errno;
	if (zc__tab_grow(cx, s->fd) != 0) {
		close(s->fd);
		return -ENOMEM;
	}
	cx->tab[s->fd] = s;
	s->nfds = 1;
	cx->nsocks++;
	return s->fd;
}

int zc_socket(struct zc_sockctx *cx, int domain, int type, int protocol)
{
	if (domain != AF_INET && domain != AF_INET6)
		return zc__fail(EAFNOSUPPORT);
	int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (base != SOCK_STREAM && base != SOCK_DGRAM)
		return zc__fail(ESOCKTNOSUPPORT);
	if (protocol != 0 && protocol != (base == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP))
		return zc__fail(EPROTONOSUPPORT);
	struct zc__sock *s = zc_arena_zalloc(cx->arena, sizeof(*s));
	if (s == NULL)
		return zc__fail(ENOMEM);
	s->family = domain;
	s->type = base;
	s->nonblock = (type & SOCK_NONBLOCK) != 0;
	zc__lock(cx);
	s->v6only = domain == AF_INET6 && cx->bindv6only;
	if (base == SOCK_STREAM) {
		s->tcp = zc_tcp_socket(cx->st);
		s->sndbuf = s->rcvbuf = 4 << 20;
	} else {
		s->udp = zc_udp_open(cx->st);
		s->sndbuf = s->rcvbuf = 256 << 10;
	}
	int r = (s->tcp || s->udp) ? zc__install(cx, s, type) : -ENOBUFS;
	if (r < 0) {
		if (s->tcp)
			zc_tcp_close(s->tcp);
		if (s->udp)
			zc_udp_close(s->udp);
		zc_arena_free(cx->arena, s);
	}
	zc__unlock(cx);
	return r < 0 ? zc__fail(-r) : r;
}

/*
 * SO_LINGER with a positive time, as Linux's tcp_close: the FIN goes now
 * and close waits until it is acknowledged (all data with it) or the time
 * runs out; then the connection goes on alone as after any close. Not with
 * unread data (close resets it) or linger 0 (reset). Lock held; the socket
 * is still in the table and counted inside while it waits.
 */
static void zc__linger(struct zc_sockctx *cx, struct zc__sock *s)
{
	int l = -1;
	if (s->tcp == NULL || s->nfds != 1 || zc_tcp_getopt(s->tcp, ZC_TCP_OPT_LINGER, &l) != 0 || l <= 0 ||
	    zc_tcp_readable(s->tcp) > 0)
		return;
	enum zc_tcp_state st = zc_tcp_get_state(s->tcp);
	if (st == ZC_TCP_ESTABLISHED || st == ZC_TCP_CLOSE_WAIT)
		zc_tcp_shutdown(s->tcp, SHUT_WR);
	if (!zc_tcp_closing(s->tcp))
		return;
	cx->inside++;
	s->users++;
	uint64_t spin = 0, deadline = zc__now() + (uint64_t)l * 1000000000ull;
	while (zc_tcp_closing(s->tcp) && !s->closed && zc__block(cx, &spin, deadline) == 0)
		;
	zc__app_out(cx);
	if (--s->users == 0 && s->closed && s->nfds == 0)
		zc__sock_free(cx, s); /* another thread closed it meanwhile */
}

int zc_close(struct zc_sockctx *cx, int fd)
{
	zc__lock(cx);
	struct zc__sock *s = fd >= 0 && fd < cx->tabcap ? cx->tab[fd] : NULL;
	if (s == NULL) {
		zc__unlock(cx);
		return zc__fail(EBADF);
	}
	zc__linger(cx, s);
	if (cx->tab[fd] != s) { /* another thread closed it meanwhile (s may be gone) */
		zc__unlock(cx);
		return 0;
	}
	cx->tab[fd] = NULL;
	close(fd);
	if (s->nfds > 1 && cx->eps)
		zc__ep_refd(cx, s, fd);
	if (--s->nfds == 0) {
		cx->nsocks--;
		if (s->users) {
			s->closed = true; /* the last thread inside frees it */
			zc__notify(cx);
		} else {
			zc__sock_free(cx, s);
		}
	}
	zc__unlock(cx);
	return 0;
}

int zc_dup(struct zc_sockctx *cx, int oldfd, int newfd, int flags)
{
	zc__lock(cx);
	struct zc__sock *s = oldfd >= 0 && oldfd < cx->tabcap ? cx->tab[oldfd] : NULL;
	if (s == NULL) {
		zc__unlock(cx);
		return zc__fail(EBADF);
	}
	if (flags & ~O_CLOEXEC) {
		zc__unlock(cx);
		return zc__fail(EINVAL); /* as dup3 */
	}
	if (newfd == oldfd) {
		zc__unlock(cx);
		return flags ? zc__fail(EINVAL) : newfd; /* dup3 refuses, dup2 returns it */
	}
	if (newfd >= 0 && newfd < cx->tabcap && cx->tab[newfd]) {
		/* dup2 over another of our sockets: that one is closed first */
		struct zc__sock *o = cx->tab[newfd];
		cx->tab[newfd] = NULL;
		if (o->nfds > 1 && cx->eps)
			zc__ep_refd(cx, o, newfd);
		if (--o->nfds == 0) {
			cx->nsocks--;
			if (o->users)
				o->closed = true;
			else
				zc__sock_free(cx, o);
		}
	}
	/* the kernel reserves the number: a duplicate of the reserved socket */
	int fd = newfd < 0 ? dup(oldfd) : dup3(oldfd, newfd, flags);
	if (fd < 0 || zc__tab_grow(cx, fd) != 0) {
		int e = fd < 0 ? errno : ENOMEM;
		if (fd >= 0)
			close(fd);
		zc__unlock(cx);
		return zc__fail(e);
	}
	cx->tab[fd] = s;
	s->nfds++;
	zc__unlock(cx);
	return fd;
}

int zc_detach(struct zc_sockctx *cx, int fd, int *nonblock)
{
	zc__lock(cx);
	struct zc__sock *s = fd >= 0 && fd < cx->tabcap ? cx->tab[fd] : NULL;
	if (s == NULL || s->nfds != 1 || s->users) {
		zc__unlock(cx);
		return zc__fail(s ? EBUSY : EBADF);
	}
	cx->tab[fd] = NULL;
	cx->nsocks--;
	*nonblock = s->nonblock;
	zc__sock_free(cx, s);
	zc__unlock(cx);
	return 0;
}

int zc_sock_family(struct zc_sockctx *cx, int fd, bool *v6only)
{
	zc__lock(cx);
	struct zc__sock *s = fd >= 0 && fd < cx->tabcap ? cx->tab[fd] : NULL;
	int fam = s ? s->family : -1;
	if (v6only)
		*v6only = s && s->v6only;
	zc__unlock(cx);
	return s ? fam : zc__fail(EBADF);
}

bool zc_is_socket(struct zc_sockctx *cx, int fd)
{
	zc__lock(cx);
	bool r = fd >= 0 && fd < cx->tabcap && cx->tab[fd] != NULL;
	zc__unlock(cx);
	return r;
}

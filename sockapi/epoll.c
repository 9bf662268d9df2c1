/*
 * epoll.c - epoll over stack sockets (socket.h says the contract): an epoll
 * instance is a kernel epoll fd holding the kernel fds; the stack sockets
 * added to it are listed here by epfd (struct zc__ep, socket_priv.h), each
 * with what it asked for and what it was last told, for edge-triggered and
 * one-shot entries. A socket closed while in an instance drops out the
 * next time the instance is looked at (its sid no longer matches).
 *
 * A wildcard listener that listens on the kernel's side too (klisten,
 * addr.c) is in both: here for the stack's accept queue, and its kernel
 * descriptor in the kernel's epoll with the same events and data, so the
 * wait reports either (an event from each when both have connections).
 */
#include "sockapi/socket_priv.h"

#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

static struct zc__ep *zc__ep_find(struct zc_sockctx *cx, int epfd)
{
	for (struct zc__ep *e = cx->eps; e; e = e->next)
		if (e->epfd == epfd)
			return e;
	return NULL;
}

/* The entry for fd, dropping entries whose socket is gone on the way. */
static struct zc__epi *zc__epi_find(struct zc_sockctx *cx, struct zc__ep *e, int fd)
{
	for (unsigned i = 0; i < e->n;) {
		struct zc__epi *x = &e->v[i];
		struct zc__sock *s = x->fd < cx->tabcap ? cx->tab[x->fd] : NULL;
		if (s == NULL || s->sid != x->sid) {
			e->v[i] = e->v[--e->n];
			continue;
		}
		if (x->fd == fd)
			return x;
		i++;
	}
	return NULL;
}

/* The kernel's side of a klisten socket into (or out of) the kernel's
 * epoll fd: by system call, as the shim would send epoll_ctl back here. */
static void zc__ep_kernel(struct zc__ep *e, int op, struct zc__sock *s, const struct epoll_event *ev)
{
	struct epoll_event k = ev ? *ev : (struct epoll_event){ 0 };
	if (op == EPOLL_CTL_MOD) /* the kernel takes EPOLLEXCLUSIVE at ADD only */
		k.events &= ~(uint32_t)EPOLLEXCLUSIVE;
	if (syscall(SYS_epoll_ctl, e->epfd, op, s->fd, &k) == 0 && op == EPOLL_CTL_ADD)
		e->nk++;
}

void zc__ep_kernel_add(struct zc_sockctx *cx, struct zc__sock *s)
{
	for (struct zc__ep *e = cx->eps; e; e = e->next) {
		struct zc__epi *x = zc__epi_find(cx, e, s->fd);
		if (x) {
			struct epoll_event ev = { .events = x->events, .data = x->data };
			zc__ep_kernel(e, EPOLL_CTL_ADD, s, &ev);
		}
	}
}

int zc_epoll_ctl(struct zc_sockctx *cx, int epfd, int op, int fd, const struct epoll_event *ev)
{
	if (op != EPOLL_CTL_ADD && op != EPOLL_CTL_MOD && op != EPOLL_CTL_DEL)
		return zc__fail(EINVAL);
	if (op != EPOLL_CTL_DEL && ev == NULL)
		return zc__fail(EFAULT);
	pthread_mutex_lock(&cx->lk);
	struct zc__sock *s = fd >= 0 && fd < cx->tabcap ? cx->tab[fd] : NULL;
	int err = 0;
	struct zc__ep *e = zc__ep_find(cx, epfd);
	struct zc__epi *x = s && e ? zc__epi_find(cx, e, fd) : NULL;
	if (s == NULL) {
		err = EBADF;
	} else if (op == EPOLL_CTL_ADD) {
		if (e == NULL && (e = calloc(1, sizeof(*e))) != NULL) {
			e->epfd = epfd;
			e->next = cx->eps;
			cx->eps = e;
		}
		if (x) {
			err = EEXIST;
		} else if (e == NULL) {
			err = ENOMEM;
		} else {
			if (e->n == e->cap) {
				unsigned cap = e->cap ? 2 * e->cap : 8;
				struct zc__epi *v = realloc(e->v, cap * sizeof(*v));
				if (v == NULL) {
					err = ENOMEM;
					goto out;
				}
				e->v = v;
				e->cap = cap;
			}
			e->v[e->n++] = (struct zc__epi){ .fd = fd, .sid = s->sid, .events = ev->events, .data = ev->data };
			if (s->klisten)
				zc__ep_kernel(e, EPOLL_CTL_ADD, s, ev);
		}
	} else if (x == NULL) {
		err = ENOENT;
	} else if (op == EPOLL_CTL_MOD) {
		x->events = ev->events;
		x->data = ev->data;
		x->reported = x->disabled = false; /* re-armed: readiness is told again */
		if (s->klisten)
			zc__ep_kernel(e, EPOLL_CTL_MOD, s, ev);
	} else {
		*x = e->v[--e->n];
		if (s->klisten)
			zc__ep_kernel(e, EPOLL_CTL_DEL, s, NULL);
	}
out:
	pthread_mutex_unlock(&cx->lk);
	return err ? zc__fail(err) : 0;
}

void zc_epoll_forget(struct zc_sockctx *cx, int epfd)
{
	pthread_mutex_lock(&cx->lk);
	for (struct zc__ep **p = &cx->eps; *p; p = &(*p)->next)
		if ((*p)->epfd == epfd) {
			struct zc__ep *e = *p;
			*p = e->next;
			free(e->v);
			free(e);
			break;
		}
	pthread_mutex_unlock(&cx->lk);
}

/* Ready stack sockets of e into evs (lock held): level-triggered entries
 * while ready; edge-triggered ones when they became ready or something
 * arrived for them since they were last told (as Linux re-reports on every
 * wake-up of the socket); a one-shot entry once until re-armed. */
static int zc__ep_collect(struct zc_sockctx *cx, struct zc__ep *e, struct epoll_event *evs, int max)
{
	int n = 0;
	zc__epi_find(cx, e, -1); /* drop entries of closed sockets */
	for (unsigned k = 0; k < e->n && n < max; k++) {
		struct zc__epi *x = &e->v[(e->rr + k) % e->n];
		if (x->disabled)
			continue;
		struct zc__sock *s = cx->tab[x->fd];
		short want = (short)(x->events & (EPOLLIN | EPOLLOUT | EPOLLPRI | EPOLLRDHUP));
		uint32_t mask = (uint32_t)(unsigned short)zc__revents(s, want);
		if (mask == 0) {
			x->reported = false;
			continue;
		}
		uint32_t change = s->tcp ? zc_tcp_change(s->tcp) : zc_udp_change(s->udp);
		if ((x->events & EPOLLET) && x->reported && change == x->last_change && !(mask & ~x->last_mask))
			continue;
		x->reported = true;
		x->last_mask = mask;
		x->last_change = change;
		if (x->events & EPOLLONESHOT)
			x->disabled = true;
		evs[n].events = mask;
		evs[n].data = x->data;
		n++;
	}
	if (e->n)
		e->rr = (e->rr + 1) % e->n;
	return n;
}

int zc_epoll_wait(struct zc_sockctx *cx, int epfd, struct epoll_event *evs, int max, int timeout_ms, bool kernel)
{
	if (max <= 0)
		return zc__fail(EINVAL);
	pthread_mutex_lock(&cx->lk);
	cx->inside++;
	uint64_t spin = 0, deadline = timeout_ms < 0 ? 0 : zc__now() + (uint64_t)timeout_ms * 1000000u;
	int n;
	for (;;) {
		struct zc__ep *e = zc__ep_find(cx, epfd);
		n = e ? zc__ep_collect(cx, e, evs, max) : 0;
		bool k_too = kernel || (e && e->nk);
		if (k_too && n < max) {
			int k = epoll_wait(epfd, evs + n, max - n, 0);
			if (k < 0 && errno != EINTR) {
				n = n ? n : -errno;
				break;
			}
			n += k > 0 ? k : 0;
		}
		if (n > 0 || timeout_ms == 0)
			break;
		if (deadline && zc__now() >= deadline)
			break;
		int r;
		if (!k_too) {
			r = zc__block(cx, &spin, deadline);
		} else { /* kernel fds too: sleep on the epoll fd and the NIC together */
			struct pollfd k = { .fd = epfd, .events = POLLIN };
			r = zc__sleep(cx, deadline, &k, 1, true, false);
		}
		if (r == -EINTR) {
			n = -EINTR;
			break;
		}
	}
	zc__app_out(cx);
	pthread_mutex_unlock(&cx->lk);
	return n < 0 ? zc__fail(-n) : n;
}

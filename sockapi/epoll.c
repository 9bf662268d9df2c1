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

/* The instance of epfd, made when it is new (NULL: no memory). */
static struct zc__ep *zc__ep_get(struct zc_sockctx *cx, int epfd)
{
	struct zc__ep *e = zc__ep_find(cx, epfd);
	if (e == NULL && (e = calloc(1, sizeof(*e))) != NULL) {
		e->epfd = epfd;
		e->sid = ++cx->shm->next_sid;
		e->next = cx->eps;
		cx->eps = e;
	}
	return e;
}

static bool zc__epi_live(struct zc_sockctx *cx, const struct zc__epi *x)
{
	if (x->nest) {
		struct zc__ep *in = zc__ep_find(cx, x->fd);
		return in && in->sid == x->sid;
	}
	struct zc__sock *s = x->fd < cx->tabcap ? cx->tab[x->fd] : NULL;
	return s && s->sid == x->sid;
}

/* The entry for fd, dropping entries whose socket or inner set is gone
 * on the way. */
static struct zc__epi *zc__epi_find(struct zc_sockctx *cx, struct zc__ep *e, int fd)
{
	for (unsigned i = 0; i < e->n;) {
		struct zc__epi *x = &e->v[i];
		if (!zc__epi_live(cx, x)) {
			e->v[i] = e->v[--e->n];
			continue;
		}
		if (x->fd == fd)
			return x;
		i++;
	}
	return NULL;
}

static int zc__epi_add(struct zc__ep *e, struct zc__epi x)
{
	if (e->n == e->cap) {
		unsigned cap = e->cap ? 2 * e->cap : 8;
		struct zc__epi *v = realloc(e->v, cap * sizeof(*v));
		if (v == NULL)
			return ENOMEM;
		e->v = v;
		e->cap = cap;
	}
	e->v[e->n++] = x;
	return 0;
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
		if (x && !x->nest) {
			struct epoll_event ev = { .events = x->events, .data = x->data };
			zc__ep_kernel(e, EPOLL_CTL_ADD, s, &ev);
		}
	}
}

/* Socket s loses descriptor fd but keeps others (dup): its entries follow
 * it to one of them, as the kernel's epoll holds the open file. */
void zc__ep_refd(struct zc_sockctx *cx, struct zc__sock *s, int fd)
{
	int to = -1;
	for (struct zc__ep *e = cx->eps; e; e = e->next)
		for (unsigned i = 0; i < e->n; i++) {
			struct zc__epi *x = &e->v[i];
			if (x->nest || x->fd != fd || x->sid != s->sid)
				continue;
			for (int k = 0; to < 0 && k < cx->tabcap; k++)
				if (cx->tab[k] == s && k != fd)
					to = k;
			if (to < 0)
				return;
			x->fd = to;
		}
}

/* What Linux lets EPOLLEXCLUSIVE go with (EPOLLEXCLUSIVE_OK_BITS). */
#define ZC__EXCL_OK (EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE)

static int zc__ep_ctl(struct zc_sockctx *cx, int epfd, int op, int fd, const struct epoll_event *ev, bool nest)
{
	if (op != EPOLL_CTL_ADD && op != EPOLL_CTL_MOD && op != EPOLL_CTL_DEL)
		return EINVAL;
	if (op != EPOLL_CTL_DEL && ev == NULL)
		return EFAULT;
	if (op == EPOLL_CTL_ADD && (ev->events & EPOLLEXCLUSIVE) && (nest || (ev->events & ~(uint32_t)ZC__EXCL_OK)))
		return EINVAL;
	if (op == EPOLL_CTL_MOD && (ev->events & EPOLLEXCLUSIVE))
		return EINVAL;
	struct zc__sock *s = !nest && fd >= 0 && fd < cx->tabcap ? cx->tab[fd] : NULL;
	struct zc__ep *in = nest ? zc__ep_get(cx, fd) : NULL;
	if (!nest && s == NULL)
		return EBADF;
	if (nest && in == NULL)
		return ENOMEM;
	struct zc__ep *e = op == EPOLL_CTL_ADD ? zc__ep_get(cx, epfd) : zc__ep_find(cx, epfd);
	struct zc__epi *x = e ? zc__epi_find(cx, e, fd) : NULL;
	if (op == EPOLL_CTL_ADD) {
		if (e == NULL)
			return ENOMEM;
		if (x)
			return EEXIST;
		int err = zc__epi_add(e, (struct zc__epi){ .fd = fd, .sid = nest ? in->sid : s->sid, .nest = nest,
							   .events = ev->events, .data = ev->data });
		if (err == 0 && s && s->klisten)
			zc__ep_kernel(e, EPOLL_CTL_ADD, s, ev);
		return err;
	}
	if (x == NULL)
		return ENOENT;
	if (op == EPOLL_CTL_MOD) {
		if (x->events & EPOLLEXCLUSIVE)
			return EINVAL; /* as Linux: an exclusive entry is not modified */
		x->events = ev->events;
		x->data = ev->data;
		x->reported = x->disabled = false; /* re-armed: readiness is told again */
		if (s && s->klisten)
			zc__ep_kernel(e, EPOLL_CTL_MOD, s, ev);
	} else {
		*x = e->v[--e->n];
		if (s && s->klisten)
			zc__ep_kernel(e, EPOLL_CTL_DEL, s, NULL);
	}
	return 0;
}

int zc_epoll_ctl(struct zc_sockctx *cx, int epfd, int op, int fd, const struct epoll_event *ev)
{
	zc__lock(cx);
	int err = zc__ep_ctl(cx, epfd, op, fd, ev, false);
	zc__unlock(cx);
	return err ? zc__fail(err) : 0;
}

int zc_epoll_nest(struct zc_sockctx *cx, int epfd, int op, int inner, const struct epoll_event *ev)
{
	zc__lock(cx);
	int err = zc__ep_ctl(cx, epfd, op, inner, ev, true);
	zc__unlock(cx);
	return err ? zc__fail(err) : 0;
}

void zc_epoll_forget(struct zc_sockctx *cx, int epfd)
{
	zc__lock(cx);
	for (struct zc__ep **p = &cx->eps; *p; p = &(*p)->next)
		if ((*p)->epfd == epfd) {
			struct zc__ep *e = *p;
			*p = e->next;
			free(e->v);
			free(e);
			break;
		}
	zc__unlock(cx);
}

#define ZC__NEST_MAX 5 /* as Linux's EP_MAX_NESTS: deeper sets are not looked into */

static bool zc__ep_ready(struct zc_sockctx *cx, struct zc__ep *e, int depth, uint32_t *change);

/*
 * What entry x of e would tell now (0: nothing) and where its socket (or
 * inner set) is (*change): level-triggered while ready; edge-triggered when
 * it became ready or something arrived since it was last told (as Linux
 * re-reports on every wake-up of the socket); one-shot once until re-armed;
 * EPOLLEXCLUSIVE: a change told to one instance is not told to the others
 * (one waiter woken, as the kernel wakes one exclusive waiter).
 */
static uint32_t zc__epi_mask(struct zc_sockctx *cx, struct zc__ep *e, struct zc__epi *x, int depth, uint32_t *change,
			     bool *ready_now)
{
	uint32_t mask, ch = 0;
	struct zc__sock *s = NULL;
	if (x->nest) {
		struct zc__ep *in = zc__ep_find(cx, x->fd);
		bool ready = in && depth < ZC__NEST_MAX && zc__ep_ready(cx, in, depth + 1, &ch);
		mask = ready ? x->events & (EPOLLIN | EPOLLRDNORM) : 0; /* an epoll fd is readable */
	} else {
		s = cx->tab[x->fd];
		short want = (short)(x->events & (EPOLLIN | EPOLLOUT | EPOLLPRI | EPOLLRDHUP));
		mask = (uint32_t)(unsigned short)zc__revents(s, want);
		ch = s->tcp ? zc_tcp_change(s->tcp, x->events & (EPOLLIN | EPOLLPRI | EPOLLRDHUP), x->events & EPOLLOUT)
			    : zc_udp_change(s->udp);
	}
	*change = ch;
	if (ready_now)
		*ready_now = mask != 0;
	if (mask == 0 || x->disabled)
		return 0;
	if ((x->events & EPOLLET) && x->reported && ch == x->last_change && !(mask & ~x->last_mask))
		return 0;
	if (s && (x->events & EPOLLEXCLUSIVE) && s->excl_ep && s->excl_ep != e->epfd + 1 && s->excl_change == ch)
		return 0;
	return mask;
}

/* Whether a wait on e would tell anything (an epoll fd's readiness, its
 * kernel fds left to the kernel), and a sum of where its entries are. */
static bool zc__ep_ready(struct zc_sockctx *cx, struct zc__ep *e, int depth, uint32_t *change)
{
	bool ready = false;
	uint32_t sum = 0;
	zc__epi_find(cx, e, -1); /* drop entries of closed sockets */
	for (unsigned k = 0; k < e->n; k++) {
		uint32_t ch;
		ready |= zc__epi_mask(cx, e, &e->v[k], depth, &ch, NULL) != 0;
		sum += ch;
	}
	*change = sum;
	return ready;
}

bool zc__ep_readable(struct zc_sockctx *cx, int fd)
{
	struct zc__ep *e = cx->eps ? zc__ep_find(cx, fd) : NULL;
	uint32_t ch;
	return e && zc__ep_ready(cx, e, 1, &ch);
}

/* Ready entries of e into evs (lock held), each told as zc__epi_mask says. */
static int zc__ep_collect(struct zc_sockctx *cx, struct zc__ep *e, struct epoll_event *evs, int max)
{
	int n = 0;
	zc__epi_find(cx, e, -1); /* drop entries of closed sockets */
	for (unsigned k = 0; k < e->n; k++)
		e->v[k].told = false;
	for (unsigned k = 0; k < e->n && n < max; k++) {
		struct zc__epi *x = &e->v[(e->rr + k) % e->n];
		uint32_t change;
		bool now;
		uint32_t mask = zc__epi_mask(cx, e, x, 1, &change, &now);
		if (!now && !x->disabled)
			x->reported = false; /* not ready: the next readiness is an edge */
		if (mask == 0)
			continue;
		x->reported = x->told = true;
		x->last_mask = mask;
		x->last_change = change;
		if (x->events & EPOLLONESHOT)
			x->disabled = true;
		if (!x->nest && (x->events & EPOLLEXCLUSIVE)) {
			struct zc__sock *s = cx->tab[x->fd];
			s->excl_ep = e->epfd + 1;
			s->excl_change = change;
		}
		evs[n].events = mask;
		evs[n].data = x->data;
		n++;
	}
	if (e->n)
		e->rr = (e->rr + 1) % e->n;
	return n;
}

/* The kernel's report of a nested set told from here already (its kernel
 * fds and its stack sockets both ready) goes: one event per entry. */
static int zc__ep_dedup(struct zc__ep *e, struct epoll_event *evs, int n0, int n)
{
	if (e == NULL || n0 == 0)
		return n;
	int out = n0;
	for (int i = n0; i < n; i++) {
		bool dup = false;
		for (unsigned k = 0; k < e->n && !dup; k++)
			dup = e->v[k].nest && e->v[k].told && e->v[k].data.u64 == evs[i].data.u64;
		if (!dup)
			evs[out++] = evs[i];
	}
	return out;
}

int zc_epoll_wait(struct zc_sockctx *cx, int epfd, struct epoll_event *evs, int max, int timeout_ms, bool kernel)
{
	if (max <= 0)
		return zc__fail(EINVAL);
	zc__lock(cx);
	cx->inside++;
	uint64_t spin = 0, deadline = timeout_ms < 0 ? 0 : zc__now() + (uint64_t)timeout_ms * 1000000u;
	int n;
	bool looked = false;
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
			n = k > 0 ? zc__ep_dedup(e, evs, n, n + k) : n;
		}
		if (n > 0)
			break;
		if (timeout_ms == 0) {
			/* what has arrived counts, as the kernel's softirq has
			 * run before its epoll_wait(0) looks: the NIC and the
			 * stack's own loopback once (a handshake's last ACK) */
			if (looked || zc__drive_pending(cx) == 0)
				break;
			looked = true;
			continue;
		}
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
	zc__unlock(cx);
	return n < 0 ? zc__fail(-n) : n;
}

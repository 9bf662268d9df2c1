/*
 * poll.c - zc_poll: poll(2) over any mix of the context's sockets and
 * kernel fds. Stack sockets are asked for their readiness (zc__revents,
 * socket_priv.h); kernel fds get one poll() without waiting; a call that
 * must wait spins and sleeps on the NIC (zc__block), or, with kernel fds,
 * sleeps on them and the NIC together (zc__sleep). No system call when a
 * stack socket is ready and no kernel fd is asked for. A wildcard listener
 * whose kernel descriptor listens too (klisten, addr.c) is asked both ways
 * and its readiness is the union, as is an epoll fd holding stack sockets
 * (readable when they would tell something, zc__ep_readable). A call that
 * finds nothing without waiting drives the stack once and looks again.
 */
#include "sockapi/socket_priv.h"

#include <stdlib.h>

/* What the stack says of fd: a stack socket's readiness; an epoll fd's
 * whose stack sockets would tell something is readable (its kernel fds
 * are the kernel's to say). Lock held. */
static short zc__stack_revents(struct zc_sockctx *cx, int fd, short events)
{
	struct zc__sock *s = fd >= 0 && fd < cx->tabcap ? cx->tab[fd] : NULL;
	if (s)
		return zc__revents(s, events);
	return fd >= 0 && zc__ep_readable(cx, fd) ? (short)(events & (POLLIN | POLLRDNORM)) : 0;
}

int zc_poll(struct zc_sockctx *cx, struct pollfd *fds, nfds_t n, int timeout_ms)
{
	if (n > 0 && fds == NULL)
		return zc__fail(EFAULT);
	struct pollfd kst[16], *k = kst;
	nfds_t nk = 0;
	int *kidx = NULL, kis[16];
	kidx = n > 16 ? malloc(n * sizeof(int)) : kis;
	if (n > 16)
		k = malloc(n * sizeof(*k));
	/* every entry is at most one kernel fd, klisten sockets included */
	if (k == NULL || kidx == NULL) {
		if (k != kst)
			free(k);
		if (kidx != kis)
			free(kidx);
		return zc__fail(ENOMEM);
	}
	zc__lock(cx);
	cx->inside++;
	uint64_t spin = 0, deadline = timeout_ms < 0 ? 0 : zc__now() + (uint64_t)timeout_ms * 1000000u;
	bool kernel_checked = false, looked = false;
	int ready;
	for (;;) {
		ready = 0;
		nk = 0;
		for (nfds_t i = 0; i < n; i++) {
			fds[i].revents = 0;
			if (fds[i].fd < 0)
				continue;
			struct zc__sock *s = fds[i].fd < cx->tabcap ? cx->tab[fds[i].fd] : NULL;
			fds[i].revents = zc__stack_revents(cx, fds[i].fd, fds[i].events);
			if (s == NULL || (s->klisten && (fds[i].events & POLLIN))) {
				kidx[nk] = (int)i;
				k[nk++] = (struct pollfd){ .fd = fds[i].fd, .events = s ? POLLIN : fds[i].events };
			}
		}
		/* kernel fds: one look without waiting, also when stack sockets
		 * are ready, so every ready fd is reported (a socket's POLLHUP
		 * must not hide nc's writable stdout); a call with stack sockets
		 * only makes no syscall at all */
		if (nk && !kernel_checked) {
			int r = poll(k, nk, 0);
			for (nfds_t j = 0; r > 0 && j < nk; j++)
				fds[kidx[j]].revents |= k[j].revents;
			kernel_checked = true;
		}
		for (nfds_t i = 0; i < n; i++)
			ready += fds[i].revents != 0;
		if (ready)
			break;
		if (timeout_ms == 0) {
			/* what has arrived counts (as epoll_wait, epoll.c) */
			if (looked || zc__drive_pending(cx) == 0)
				break;
			looked = true; /* (the kernel fds were looked at just now) */
			continue;
		}
		uint64_t now = zc__now();
		if (deadline && now >= deadline)
			break;
		if (nk == 0) {
			int b = zc__block(cx, &spin, timeout_ms < 0 ? 0 : deadline);
			if (b == -EINTR) {
				ready = -EINTR;
				break;
			}
			continue;
		}
		/* kernel fds too: sleep on them and the NIC together */
		int r = zc__sleep(cx, timeout_ms < 0 ? 0 : deadline, k, nk, true, false);
		if (r == -EINTR) {
			ready = -EINTR;
			break;
		}
		if (r > 0) {
			/* the stack's sockets may be ready as well */
			for (nfds_t i = 0; i < n; i++)
				fds[i].revents = fds[i].fd >= 0 ? zc__stack_revents(cx, fds[i].fd, fds[i].events) : 0;
			for (nfds_t j = 0; j < nk; j++)
				fds[kidx[j]].revents |= k[j].revents;
			ready = 0;
			for (nfds_t i = 0; i < n; i++)
				ready += fds[i].revents != 0;
			break;
		}
	}
	zc__app_out(cx);
	zc__unlock(cx);
	if (k != kst)
		free(k);
	if (kidx != kis)
		free(kidx);
	return ready < 0 ? zc__fail(-ready) : ready;
}

/*
 * sigio.c - signal-driven I/O on stack sockets, as Linux does it: a socket
 * with O_ASYNC (F_SETFL or FIOASYNC) signals its owner on each wake-up
 * (data, a connection, room to write, a state change, an error), and any
 * TCP socket signals SIGURG to its owner when a new urgent pointer
 * arrives. The owner (F_SETOWN, F_SETOWN_EX) and the signal (F_SETSIG;
 * SIGIO when 0) are kept by the kernel on the placeholder descriptor, where
 * the program's fcntl put them; they are read back when a signal is due.
 * Looked at after every poll of the stack, which runs on the helper thread
 * too while the program is elsewhere; only when a socket has O_ASYNC or an
 * urgent pointer came.
 */
#include "sockapi/socket_priv.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Sends sig to fd's owner, if it has one (F_GETOWN_EX on the placeholder). */
static void zc__signal_owner(int fd, int sig)
{
	struct f_owner_ex o;
	if (syscall(SYS_fcntl, fd, F_GETOWN_EX, &o) != 0 || o.pid <= 0)
		return;
	if (o.type == F_OWNER_TID)
		syscall(SYS_tgkill, zc__pid, o.pid, sig);
	else if (o.type == F_OWNER_PGRP)
		kill(-o.pid, sig);
	else
		kill(o.pid, sig);
}

static uint32_t zc__sig_change(const struct zc__sock *s)
{
	return s->tcp ? zc_tcp_change(s->tcp, true, true) : zc_udp_change(s->udp);
}

void zc__set_async(struct zc_sockctx *cx, struct zc__sock *s, bool on)
{
	if (on == s->async)
		return;
	s->async = on;
	if (on) {
		cx->nasync++;
		s->sig_change = zc__sig_change(s); /* from now on */
	} else {
		cx->nasync--;
	}
}

void zc__signals(struct zc_sockctx *cx)
{
	uint64_t urg = zc_tcp_urg_in(cx->st);
	bool urg_new = urg != cx->urg_in;
	cx->urg_in = urg;
	/* a socket with several numbers is met several times: signalled once,
	 * as its counts are brought up to date the first time */
	for (int fd = 0; fd < cx->tabcap; fd++) {
		struct zc__sock *s = cx->tab[fd];
		if (s == NULL)
			continue;
		if (urg_new && s->tcp && zc_tcp_urg_count(s->tcp) != s->sig_urg) {
			s->sig_urg = zc_tcp_urg_count(s->tcp);
			zc__signal_owner(fd, SIGURG);
		}
		if (s->async && zc__sig_change(s) != s->sig_change) {
			s->sig_change = zc__sig_change(s);
			int sig = (int)syscall(SYS_fcntl, fd, F_GETSIG);
			zc__signal_owner(fd, sig > 0 ? sig : SIGIO);
		}
	}
}

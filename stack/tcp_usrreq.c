/*
 * tcp_usrreq.c - what an application asks of a connection (BSD's
 * tcp_usrreq): socket, listen, accept, connect, shutdown, close, and what
 * it learns back (readiness for poll, SO_ERROR, addresses). Each call that
 * sends (connect, shutdown, close) flushes the transmit queue at once.
 * Sending and reading data are in tcp_send.c and tcp_recv.c, options in
 * tcp_opt.c.
 */
#include "stack/tcp_priv.h"

#include <errno.h>
#include <poll.h>

#define ZC__TCP_BACKLOG_MAX 4096 /* as Linux's default somaxconn */

struct zc_tcp_sock *zc_tcp_socket(struct zc_stack *st)
{
	return zc__tcp_alloc(st);
}

int zc_tcp_listen(struct zc_tcp_sock *s, int backlog)
{
	if (s->state == ZC_TCP_LISTEN) {
		s->backlog = backlog < 1 ? 1 : (uint32_t)backlog;
		return 0;
	}
	if (s->state != ZC_TCP_CLOSED || s->rport)
		return -EINVAL;
	if (s->lport == 0) {
		int r = zc_tcp_bind(s, 0, 0);
		if (r)
			return r;
	}
	s->backlog = backlog < 1 ? 1 : backlog > ZC__TCP_BACKLOG_MAX ? ZC__TCP_BACKLOG_MAX : (uint32_t)backlog;
	zc__tcp_set_state(s, ZC_TCP_LISTEN);
	zc__tcp_hash_listener(s);
	return 0;
}

struct zc_tcp_sock *zc_tcp_accept(struct zc_tcp_sock *s, int *err)
{
	if (s->state != ZC_TCP_LISTEN) {
		*err = -EINVAL;
		return NULL;
	}
	struct zc_tcp_sock *c = s->acc_head;
	if (c == NULL) {
		*err = -EAGAIN;
		return NULL;
	}
	zc__tcp_unlink_child(c);
	c->orphan = false;
	*err = 0;
	return c;
}

int zc_tcp_connect(struct zc_tcp_sock *s, uint32_t ip, uint16_t port)
{
	struct zc_stack *st = s->st;
	if (s->state == ZC_TCP_SYN_SENT)
		return -EALREADY;
	if (s->state != ZC_TCP_CLOSED)
		return s->state == ZC_TCP_LISTEN ? -EINVAL : -EISCONN;
	if (s->rport)
		return -EISCONN; /* a finished connection is not reused */
	if (ip == 0 || port == 0 || zc__is_bcast(st, ip) || (ip >> 28) == 0xe) /* 0xe: multicast */
		return -EINVAL;
	int r = zc__tcp_bind_tuple(s, ip, port);
	if (r)
		return r;
	zc__tcp_init_conn(s);
	s->iss = zc__tcp_isn(st, s->lip, s->lport, s->rip, s->rport);
	s->snd_una = s->snd_nxt = s->snd_max = s->snd_sml = s->iss;
	s->recover = s->iss; /* RFC 6582 3.2 step 1: recover starts at the ISS */
	s->ecn_recover = s->iss;
	s->cc->init(s);
	zc__tcp_set_state(s, ZC_TCP_SYN_SENT);
	zc__tcp_hash(s);
	st->tcp->stats.active_opens++;
	zc__tcp_output(s);
	zc__tx_flush(st);
	return -EINPROGRESS;
}

int zc_tcp_shutdown(struct zc_tcp_sock *s, int how)
{
	if (how < 0 || how > 2)
		return -EINVAL;
	if (!zc__tcp_connected(s) && s->state != ZC_TCP_SYN_SENT && s->state != ZC_TCP_SYN_RECEIVED)
		return -ENOTCONN;
	if (how != 1)
		s->rd_shut = true;
	if (how != 0 && !s->wr_shut) {
		s->wr_shut = true;
		if (s->state == ZC_TCP_ESTABLISHED || s->state == ZC_TCP_CLOSE_WAIT ||
		    s->state == ZC_TCP_SYN_RECEIVED) {
			s->fin_pending = true;
			zc__tcp_set_state(s, s->state == ZC_TCP_CLOSE_WAIT ? ZC_TCP_LAST_ACK : ZC_TCP_FIN_WAIT_1);
			zc__tcp_output(s);
			zc__tx_flush(s->st);
		} else if (s->state == ZC_TCP_SYN_SENT) {
			zc__tcp_drop(s, 0);
		}
	}
	return 0;
}

static void zc__tcp_close(struct zc_tcp_sock *s);

void zc_tcp_close(struct zc_tcp_sock *s)
{
	if (s == NULL)
		return;
	struct zc_stack *st = s->st;
	zc__tcp_close(s);
	zc__tx_flush(st);
}

static void zc__tcp_close(struct zc_tcp_sock *s)
{
	s->orphan = true;
	switch (s->state) {
	case ZC_TCP_LISTEN: {
		/* children never accepted are reset */
		while (s->acc_head) {
			struct zc_tcp_sock *c = s->acc_head;
			zc__tcp_unlink_child(c);
			zc__tcp_output_for(c, ZC_TCP_TX_RST);
			c->orphan = true;
			zc__tcp_closed(c);
		}
		for (struct zc_tcp_sock *c = s->st->tcp->all, *n; c; c = n) {
			n = c->anext;
			if (c->parent == s) {
				zc__tcp_output_for(c, ZC_TCP_TX_RST);
				zc__tcp_closed(c);
			}
		}
		zc__tcp_closed(s);
		return;
	}
	case ZC_TCP_CLOSED:
	case ZC_TCP_SYN_SENT:
		zc__tcp_closed(s);
		return;
	default:
		break;
	}
	if (s->rq_len > 0 || s->linger_s == 0) {
		/* unread data or SO_LINGER 0: reset (RFC 2525 2.17) */
		zc__tcp_output_for(s, ZC_TCP_TX_RST);
		zc__tcp_drop(s, 0);
		return;
	}
	if (!s->wr_shut) {
		s->wr_shut = true;
		s->rd_shut = true;
		if (s->state == ZC_TCP_ESTABLISHED || s->state == ZC_TCP_CLOSE_WAIT ||
		    s->state == ZC_TCP_SYN_RECEIVED) {
			s->fin_pending = true;
			zc__tcp_set_state(s, s->state == ZC_TCP_CLOSE_WAIT ? ZC_TCP_LAST_ACK : ZC_TCP_FIN_WAIT_1);
			zc__tcp_output(s);
		}
	}
	if (s->state == ZC_TCP_FIN_WAIT_2) /* orphan FIN_WAIT_2 times out (Linux tcp_fin_timeout) */
		zc__tcp_2msl(s);
}

bool zc_tcp_closing(const struct zc_tcp_sock *s)
{
	return s->state == ZC_TCP_FIN_WAIT_1 || s->state == ZC_TCP_CLOSING || s->state == ZC_TCP_LAST_ACK;
}

unsigned zc_tcp_events(const struct zc_tcp_sock *s)
{
	unsigned ev = 0;
	if (s->state == ZC_TCP_LISTEN)
		return s->acc_head ? POLLIN : 0;
	/* as Linux's tcp_poll: a connection that ended (reset, timed out)
	 * is shut both ways; one shut for reading (a FIN, SHUT_RD) is
	 * readable with RDHUP; one shut for writing is writable (a write
	 * fails at once); both: HUP */
	bool gone = s->state == ZC_TCP_CLOSED && s->rport;
	bool rd = s->fin_rcvd || s->rd_shut || gone, wr = s->wr_shut || gone;
	if (s->rq_len || rd)
		ev |= POLLIN;
	if (rd)
		ev |= POLLRDHUP;
	if (s->urg_state == ZC__URG_VALID && !s->oobinline)
		ev |= POLLPRI;
	/* writable as Linux says it (sk_stream_is_writeable): the free space
	 * is at least half of what is queued, i.e. at most 2/3 of the buffer
	 * is in use; so a program woken for POLLOUT finds room for a large
	 * write, not a sliver (iperf3 -F loses data on short writes) */
	uint64_t lim = zc_tcp_send_limit(s);
	if (wr && s->state != ZC_TCP_SYN_SENT && s->state != ZC_TCP_SYN_RECEIVED)
		ev |= POLLOUT;
	else if ((s->state == ZC_TCP_ESTABLISHED || s->state == ZC_TCP_CLOSE_WAIT) && s->sb_len < lim &&
		 3 * (uint64_t)s->sb_len <= 2 * lim)
		ev |= POLLOUT;
	if (s->error)
		ev |= POLLERR;
	if (rd && wr)
		ev |= POLLHUP;
	return ev;
}

int zc_tcp_error(struct zc_tcp_sock *s)
{
	int e = s->error;
	s->error = 0;
	return e;
}

int zc_tcp_soft_error(struct zc_tcp_sock *s)
{
	int e = s->soft_error;
	s->soft_error = 0;
	return e;
}

enum zc_tcp_state zc_tcp_get_state(const struct zc_tcp_sock *s) { return (enum zc_tcp_state)s->state; }

int zc_tcp_local(const struct zc_tcp_sock *s, uint32_t *ip, uint16_t *port)
{
	*ip = s->lip ? s->lip : (s->rport ? s->st->ip : 0);
	*port = s->lport;
	return 0;
}

int zc_tcp_remote(const struct zc_tcp_sock *s, uint32_t *ip, uint16_t *port)
{
	if (s->rport == 0 || s->state == ZC_TCP_SYN_SENT)
		return -ENOTCONN;
	*ip = s->rip;
	*port = s->rport;
	return 0;
}

uint32_t zc_tcp_urg_count(const struct zc_tcp_sock *s) { return s->urg_count; }

uint32_t zc_tcp_change(const struct zc_tcp_sock *s, bool in, bool out)
{
	return (in ? s->wake_in : 0) + (out ? s->wake_out << 16 : 0) + ((uint32_t)s->state << 28);
}

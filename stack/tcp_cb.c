/*
 * tcp_cb.c - the life of a TCB (struct zc_tcp_sock): created by
 * zc_tcp_socket() or by a SYN for a listener (tcp_input.c), its state
 * changed only by zc__tcp_set_state() (counted and logged), a listener's
 * children queued for accept, TIME_WAIT, and its end: zc__tcp_drop()
 * (reset, timeout, refused) or zc__tcp_closed() (the FIN exchange and
 * TIME_WAIT are done), after which an orphan (closed by the application,
 * or never accepted) is freed.
 */
#include "stack/tcp_priv.h"
#include "stack/log.h"

#include <errno.h>
#include <stdlib.h>

void zc__free_chain_list(struct zc_mbuf *m)
{
	while (m) {
		struct zc_mbuf *n = m->nextpkt;
		m->nextpkt = NULL;
		zc_mbuf_free(m);
		m = n;
	}
}

void zc__tcp_free(struct zc_tcp_sock *s)
{
	struct zc__tcp *t = s->st->tcp;
	zc__tcp_timer_clear_all(s);
	zc__tcp_unhash(s);
	zc__rack_free(s);
	zc_mbuf_free(s->sb_head);
	zc__free_chain_list(s->rq_head);
	zc__free_chain_list(s->ooo);
	if (s->anext)
		s->anext->aprev = s->aprev;
	if (s->aprev)
		s->aprev->anext = s->anext;
	else
		t->all = s->anext;
	t->count--;
	zc__st_free(s->st->arena, s);
}

struct zc_tcp_sock *zc__tcp_alloc(struct zc_stack *st)
{
	struct zc__tcp *t = st->tcp;
	if (t->count >= t->cfg.max_conns) {
		errno = ENOBUFS;
		return NULL;
	}
	if (zc__tcp_timer_reserve(st, t->count + 1) != 0) {
		errno = ENOMEM;
		return NULL;
	}
	struct zc_tcp_sock *s = zc__st_zalloc(st->arena, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->st = st;
	s->heap_idx = -1;
	s->sb_max = t->cfg.sndbuf;
	s->rb_max = t->cfg.rcvbuf;
	s->rb_auto = s->sb_auto = t->cfg.autotune_min != 0;
	s->rb_win = s->rb_auto && t->cfg.autotune_min < s->rb_max ? t->cfg.autotune_min : s->rb_max;
	s->cc = t->cc_default;
	s->keepidle_s = ZC__TCP_KEEPIDLE_S;
	s->keepintvl_s = ZC__TCP_KEEPINTVL_S;
	s->keepcnt = ZC__TCP_KEEPCNT;
	s->linger_s = -1;
	s->rto = t->cfg.rto_initial_ns;
	s->anext = t->all;
	if (t->all)
		t->all->aprev = s;
	t->all = s;
	t->count++;
	if (t->count > t->stats.conns_peak)
		t->stats.conns_peak = t->count;
	return s;
}

void zc__tcp_set_state(struct zc_tcp_sock *s, enum zc_tcp_state ns)
{
	struct zc__tcp *t = s->st->tcp;
	if (s->state == ns)
		return;
	if (s->state == ZC_TCP_ESTABLISHED || s->state == ZC_TCP_CLOSE_WAIT)
		t->stats.curr_estab--;
	if (ns == ZC_TCP_ESTABLISHED || ns == ZC_TCP_CLOSE_WAIT)
		t->stats.curr_estab++;
	t->paths.entered[ns]++;
	if (zc_log_get_level() >= ZC_LOG_DEBUG) {
		char l[16], r[16];
		ZC_DEBUG("tcp %s:%u %s:%u: %s -> %s", zc_ipv4_str(s->lip, l), s->lport, zc_ipv4_str(s->rip, r),
			 s->rport, zc_tcp_state_name((enum zc_tcp_state)s->state), zc_tcp_state_name(ns));
	}
	s->state = (uint8_t)ns;
}

/* Remove a child from its listener's queues. */
void zc__tcp_unlink_child(struct zc_tcp_sock *c)
{
	struct zc_tcp_sock *l = c->parent;
	if (l == NULL)
		return;
	if (c->accepted_ready) {
		struct zc_tcp_sock *prev = NULL;
		for (struct zc_tcp_sock *q = l->acc_head; q; prev = q, q = q->qnext)
			if (q == c) {
				if (prev)
					prev->qnext = q->qnext;
				else
					l->acc_head = q->qnext;
				if (l->acc_tail == q)
					l->acc_tail = prev;
				break;
			}
		l->nacc--;
	} else {
		l->nsyn--;
	}
	c->parent = NULL;
	c->accepted_ready = false;
}

void zc__tcp_child_ready(struct zc_tcp_sock *c)
{
	struct zc_tcp_sock *l = c->parent;
	if (l == NULL)
		return;
	l->nsyn--;
	c->accepted_ready = true;
	c->qnext = NULL;
	if (l->acc_tail)
		l->acc_tail->qnext = c;
	else
		l->acc_head = c;
	l->acc_tail = c;
	l->nacc++;
	l->wake_in++;
}

void zc__tcp_drop(struct zc_tcp_sock *s, int err)
{
	if (s->state != ZC_TCP_CLOSED && s->state != ZC_TCP_LISTEN && s->state != ZC_TCP_SYN_SENT &&
	    s->state != ZC_TCP_TIME_WAIT && err)
		s->st->tcp->stats.estab_resets++;
	if (s->state == ZC_TCP_SYN_SENT && err)
		s->st->tcp->stats.attempt_fails++;
	if (err)
		s->error = err;
	s->wake_in++;
	s->wake_out++;
	zc__tcp_closed(s);
}

bool zc__tcp_closed(struct zc_tcp_sock *s)
{
	zc__tcp_set_state(s, ZC_TCP_CLOSED);
	zc__tcp_timer_clear_all(s);
	zc__tcp_unhash(s);
	zc__rack_free(s);
	zc_mbuf_free(s->sb_head);
	s->sb_head = s->sb_tail = s->sb_cur = NULL;
	s->sb_len = 0;
	zc__tcp_ooo_discard(s);
	if (s->parent) { /* never accepted: nobody will see it */
		zc__tcp_unlink_child(s);
		s->orphan = true;
	}
	if (s->orphan) {
		zc__tcp_free(s);
		return true;
	}
	/* else the application still holds it: unread data stays readable */
	return false;
}

void zc__tcp_2msl(struct zc_tcp_sock *s)
{
	zc__tcp_timer_set(s, ZC__T_2MSL, s->st->now + 2 * s->st->tcp->cfg.msl_ns);
}

void zc__tcp_time_wait(struct zc_tcp_sock *s)
{
	zc__tcp_set_state(s, ZC_TCP_TIME_WAIT);
	zc__tcp_timer_clear_all(s);
	zc__tcp_2msl(s);
}

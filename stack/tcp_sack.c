/*
 * tcp_sack.c - SACK as a sender: the scoreboard of what the peer holds
 * above SND.UNA (RFC 2018 blocks), and RFC 6675's loss recovery over it:
 * IsLost, the pipe and NextSeg with its rescue retransmission. Duplicate
 * SACKs (RFC 2883) are recognised and counted: each one is data the peer
 * received twice, which in a run without duplication on the path is a
 * spurious retransmission. The receiver's side (the blocks we send, and
 * our DSACK) is in tcp_reass.c.
 *
 * The scoreboard is a sorted array of disjoint ranges, at most
 * ZC__TCP_SACKBOARD: each ACK carries at most four blocks, and ranges
 * merge as holes fill, so the array stays short; a block that finds it
 * full is ignored (what it says is then learnt later or retransmitted,
 * never lost). RFC 6675 speaks of octets; a hole (an unSACKed run
 * between ranges) is lost or not as a whole, since every octet in it has
 * the same SACKed data above.
 */
#include "stack/tcp_priv.h"

#include <string.h>

void zc__sack_clear(struct zc_tcp_sock *s)
{
	s->nsacked = 0;
	s->sacked_bytes = 0;
	s->sack_rec = false;
	zc__rack_unsack(s);
}

static void zc__sack_del(struct zc_tcp_sock *s, unsigned i)
{
	s->sacked_bytes -= s->sacked[i].r - s->sacked[i].l;
	memmove(&s->sacked[i], &s->sacked[i + 1], (s->nsacked - i - 1) * sizeof(s->sacked[0]));
	s->nsacked--;
}

/* Ranges at or below una leave; one across it starts there. */
void zc__sack_trim(struct zc_tcp_sock *s, tcp_seq una)
{
	while (s->nsacked && seq_le(s->sacked[0].r, una))
		zc__sack_del(s, 0);
	if (s->nsacked && seq_lt(s->sacked[0].l, una)) {
		s->sacked_bytes -= una - s->sacked[0].l;
		s->sacked[0].l = una;
	}
}

/* [l, r) into the scoreboard, merged with what it touches: the bytes new. */
static uint32_t zc__sack_add(struct zc_tcp_sock *s, tcp_seq l, tcp_seq r)
{
	unsigned i = 0;
	while (i < s->nsacked && seq_lt(s->sacked[i].r, l))
		i++;
	uint32_t before = s->sacked_bytes;
	if (i == s->nsacked || seq_lt(r, s->sacked[i].l)) {
		if (s->nsacked == ZC__TCP_SACKBOARD) {
			s->st->tcp->stats.sack_board_full++;
			return 0;
		}
		zc__rack_sacked(s, l, r);
		memmove(&s->sacked[i + 1], &s->sacked[i], (s->nsacked - i) * sizeof(s->sacked[0]));
		s->sacked[i] = (struct zc__sack_range){ l, r };
		s->nsacked++;
		s->sacked_bytes += r - l;
		return r - l;
	}
	/* overlaps or touches range i (and maybe those after): widen i */
	zc__rack_sacked(s, l, r);
	struct zc__sack_range *g = &s->sacked[i];
	if (seq_lt(l, g->l)) {
		s->sacked_bytes += g->l - l;
		g->l = l;
	}
	if (seq_gt(r, g->r)) {
		s->sacked_bytes += r - g->r;
		g->r = r;
	}
	while (i + 1 < s->nsacked && seq_le(s->sacked[i + 1].l, g->r)) {
		struct zc__sack_range n = s->sacked[i + 1];
		zc__sack_del(s, i + 1); /* its bytes leave, and what lies past g comes back */
		if (seq_gt(n.r, g->r)) {
			s->sacked_bytes += n.r - g->r;
			g->r = n.r;
		}
	}
	return s->sacked_bytes - before;
}

uint32_t zc__sack_update(struct zc_tcp_sock *s, const struct zc_tcp_opts *o, tcp_seq ack)
{
	struct zc__tcp *t = s->st->tcp;
	tcp_seq una = seq_gt(ack, s->snd_una) ? ack : s->snd_una;
	zc__sack_trim(s, una);
	uint32_t added = 0;
	for (unsigned k = 0; k < o->nsack; k++) {
		tcp_seq l = o->sack[k].left, r = o->sack[k].right;
		/* RFC 2883 4: the first block below the cumulative ACK, or
		 * inside the second, reports data that arrived twice */
		if (k == 0 && seq_lt(l, r) &&
		    (seq_le(r, ack) ||
		     (o->nsack > 1 && seq_le(o->sack[1].left, l) && seq_le(r, o->sack[1].right)))) {
			t->stats.dsacks_in++;
			s->dsacks_in++;
			continue;
		}
		/* a block must lie within what we sent (RFC 2018: the data it
		 * names arrived); one at or below SND.UNA is stale. Both edges
		 * are tested against SND.MAX: a right edge 2^31 or more past
		 * it wraps and looks below it (fuzz_tcp's finding) */
		if (!seq_lt(l, r) || seq_gt(l, s->snd_max) || seq_gt(r, s->snd_max) ||
		    seq_lt(l, s->snd_una - s->max_sndwnd)) {
			t->stats.sack_bad_blocks++;
			continue;
		}
		if (seq_lt(l, una))
			l = una;
		if (seq_lt(l, r))
			added += zc__sack_add(s, l, r);
	}
	return added;
}

/* RFC 6675 IsLost for a hole whose SACKed data above is `bytes` in `n`
 * ranges: DupThresh ranges, or more than (DupThresh - 1) segments. */
static bool zc__sack_lost_above(const struct zc_tcp_sock *s, uint32_t bytes, unsigned n)
{
	return n >= ZC__TCP_DUPTHRESH || bytes > (ZC__TCP_DUPTHRESH - 1) * (uint32_t)s->mss;
}

bool zc__sack_is_lost(const struct zc_tcp_sock *s, tcp_seq seq)
{
	if (zc__rack_on(s))
		return zc__rack_lost_at(s, seq);
	uint32_t bytes = 0;
	unsigned n = 0;
	for (unsigned i = s->nsacked; i-- > 0 && seq_gt(s->sacked[i].l, seq);) {
		bytes += s->sacked[i].r - s->sacked[i].l;
		n++;
	}
	return zc__sack_lost_above(s, bytes, n);
}

/* The holes, low to high: hole i is [end of range i-1 (or SND.UNA), start
 * of range i (or SND.MAX for i == nsacked)), with the SACKed data above it. */
struct zc__hole {
	tcp_seq l, r;
	bool lost;
};

static unsigned zc__sack_holes(const struct zc_tcp_sock *s, struct zc__hole *h)
{
	uint32_t above = s->sacked_bytes;
	unsigned n = 0;
	tcp_seq at = s->snd_una;
	for (unsigned i = 0; i <= s->nsacked; i++) {
		tcp_seq end = i < s->nsacked ? s->sacked[i].l : s->snd_max;
		if (seq_lt(at, end))
			h[n++] = (struct zc__hole){ at, end, zc__sack_lost_above(s, above, s->nsacked - i) };
		if (i < s->nsacked) {
			above -= s->sacked[i].r - s->sacked[i].l;
			at = s->sacked[i].r;
		}
	}
	return n;
}

/* RFC 6675 SetPipe: unSACKed octets not presumed lost, plus those
 * retransmitted (below HighRxt) once more. */
uint32_t zc__sack_pipe(const struct zc_tcp_sock *s)
{
	if (zc__rack_on(s))
		return zc__rack_pipe(s);
	struct zc__hole h[ZC__TCP_SACKBOARD + 1];
	unsigned n = zc__sack_holes(s, h);
	uint32_t pipe = 0;
	for (unsigned i = 0; i < n; i++) {
		if (!h[i].lost)
			pipe += h[i].r - h[i].l;
		if (seq_gt(s->high_rxt, h[i].l))
			pipe += seq_min(s->high_rxt, h[i].r) - h[i].l;
	}
	return pipe;
}

/* NextSeg's retransmissions (RFC 6675 4): rule 1 (lost), or rule 3 (not
 * lost, below the highest SACKed octet) when `rule` is 3: the first hole
 * octet at or past HighRxt. Fills [*seq, *seq + *len) within one hole. */
bool zc__sack_next_rexmt(const struct zc_tcp_sock *s, int rule, tcp_seq *seq, uint32_t *len)
{
	if (zc__rack_on(s)) /* RACK: its lost ranges; rule 3 is the probe's */
		return rule == 1 && zc__rack_next_lost(s, seq, len);
	if (s->nsacked == 0)
		return false;
	tcp_seq top = s->sacked[s->nsacked - 1].r;
	struct zc__hole h[ZC__TCP_SACKBOARD + 1];
	unsigned n = zc__sack_holes(s, h);
	for (unsigned i = 0; i < n; i++) {
		if (!seq_lt(h[i].l, top))
			break;
		if ((rule == 1) != h[i].lost)
			continue;
		tcp_seq l = seq_max(h[i].l, s->high_rxt);
		if (!seq_lt(l, h[i].r))
			continue;
		*seq = l;
		*len = h[i].r - l;
		return true;
	}
	return false;
}

/* Rule 4: one rescue retransmission a recovery, holding the highest
 * unSACKed octet, once HighACK passed RescueRxt (or before any). */
bool zc__sack_rescue(const struct zc_tcp_sock *s, tcp_seq *seq, uint32_t *len)
{
	if (zc__rack_on(s))
		return false; /* the tail loss probe does its work */
	if (s->rescue_set && !seq_gt(s->snd_una, s->rescue_rxt))
		return false;
	tcp_seq end = s->snd_max;
	if (s->nsacked && s->sacked[s->nsacked - 1].r == s->snd_max)
		end = s->sacked[s->nsacked - 1].l;
	/* 4.a: only above what rules 1 and 3 already resent */
	if (!seq_gt(end, s->snd_una) || !seq_gt(end, s->high_rxt))
		return false;
	tcp_seq lo = seq_max(s->snd_una, s->high_rxt);
	for (unsigned i = 0; i < s->nsacked; i++) /* and within the hole below end */
		if (seq_le(s->sacked[i].r, end) && seq_gt(s->sacked[i].r, lo))
			lo = s->sacked[i].r;
	uint32_t n = end - lo < s->mss ? end - lo : s->mss;
	*seq = end - n;
	*len = n;
	return true;
}

/* After a timeout, going back from SND.UNA: SND.NXT steps over what the
 * peer SACKed (as Linux marks only the unSACKed lost). */
void zc__sack_skip(struct zc_tcp_sock *s)
{
	for (unsigned i = 0; i < s->nsacked; i++)
		if (seq_le(s->sacked[i].l, s->snd_nxt) && seq_lt(s->snd_nxt, s->sacked[i].r) &&
		    seq_le(s->sacked[i].r, s->snd_max))
			s->snd_nxt = s->sacked[i].r;
}

uint32_t zc__sack_below(const struct zc_tcp_sock *s, tcp_seq seq)
{
	uint32_t n = 0;
	for (unsigned i = 0; i < s->nsacked && seq_lt(s->sacked[i].l, seq); i++)
		n += seq_min(s->sacked[i].r, seq) - s->sacked[i].l;
	return n;
}

uint32_t zc__sack_room(const struct zc_tcp_sock *s)
{
	for (unsigned i = 0; i < s->nsacked; i++)
		if (seq_gt(s->sacked[i].l, s->snd_nxt))
			return s->sacked[i].l - s->snd_nxt;
	return UINT32_MAX;
}

/*
 * lending.c - a frame's owner and its references: frames traded between
 * pools (give/adopt: the Trapeze NIC moves frames between its two ports'
 * pools this way), frames lent to users (lend/unlend: page trading maps a
 * frame into an application's buffer; take_back: a dead holder's come
 * back), frames given up for good (lose), and
 * a frame's reference count.
 *
 * Each call moves one frame between the states of pool_priv.h and keeps
 * pool.h's accounting (frames_owned == free + in_flight + lent): it succeeds
 * or changes nothing. References are taken by mbuf.c (clones, refs) and
 * dropped by zc_pool_frame_put (frames.c).
 */
#include "stack/pool/pool_priv.h"

#include <errno.h>

uint32_t zc_pool_frame_refcnt(const struct zc_pool *p, uint32_t f)
{
	return f < p->nframes ? p->frames[f].refcnt : 0;
}

int zc_pool_give_frame(struct zc_pool *p, uint32_t f)
{
	if (f >= p->nframes || p->frames[f].state != ZC__F_INUSE)
		return -EINVAL;
	if (p->frames[f].refcnt != 1)
		return -EBUSY;
	p->frames[f].state = ZC__F_FOREIGN;
	p->frames[f].refcnt = 0;
	p->in_flight--;
	p->owned--;
	p->given++;
	return 0;
}

int zc_pool_adopt_frame(struct zc_pool *p, uint32_t f)
{
	if (f >= p->nframes || p->frames[f].state != ZC__F_FOREIGN)
		return -EINVAL;
	p->frames[f].state = ZC__F_INUSE;
	p->frames[f].refcnt = 1;
	p->in_flight++;
	p->owned++;
	p->adopted++;
	return 0;
}

int zc_pool_lend_frame_to(struct zc_pool *p, uint32_t f, uint32_t holder)
{
	if (f >= p->nframes || p->frames[f].state != ZC__F_INUSE || p->frames[f].refcnt != 1)
		return -EINVAL;
	p->frames[f].state = ZC__F_LENT;
	p->frames[f].holder = holder;
	p->in_flight--;
	p->lent++;
	return 0;
}

int zc_pool_lend_frame(struct zc_pool *p, uint32_t f)
{
	return zc_pool_lend_frame_to(p, f, 0);
}

uint32_t zc_pool_frame_holder(const struct zc_pool *p, uint32_t f)
{
	return f < p->nframes && p->frames[f].state == ZC__F_LENT ? p->frames[f].holder : 0;
}

unsigned zc_pool_take_back(struct zc_pool *p, bool (*gone)(uint32_t holder, void *arg), void *arg)
{
	unsigned n = 0;
	for (uint32_t f = 0; f < p->nframes; f++) {
		struct zc__frame *fr = &p->frames[f];
		if (fr->state != ZC__F_LENT || fr->holder == 0 || !gone(fr->holder, arg))
			continue;
		zc_pool_unlend_frame(p, f);
		zc_pool_frame_put(p, f);
		n++;
	}
	p->taken_back += n;
	return n;
}

int zc_pool_unlend_frame(struct zc_pool *p, uint32_t f)
{
	if (f >= p->nframes || p->frames[f].state != ZC__F_LENT)
		return -EINVAL;
	p->frames[f].state = ZC__F_INUSE;
	p->frames[f].holder = 0;
	p->lent--;
	p->in_flight++;
	return 0;
}

int zc_pool_lose_frame(struct zc_pool *p, uint32_t f)
{
	if (f >= p->nframes || p->frames[f].state != ZC__F_LENT)
		return -EINVAL;
	p->frames[f].state = ZC__F_LOST;
	p->frames[f].holder = 0;
	p->lent--;
	p->owned--;
	p->lost++;
	return 0;
}

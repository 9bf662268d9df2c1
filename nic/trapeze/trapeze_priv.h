/*
 * trapeze_priv.h - inside the simulated Trapeze NIC (nic/trapeze.h): one
 * port's driver state, shared by the files of nic/trapeze/; not for the
 * stack, nor for tests (their hooks are in nic/trapeze_priv.h).
 *
 * The data path: transmit (tx.c) separates headers from payload and hands
 * the payload over by trading frames, by copying it into the peer's posted
 * frames, or by describing where it lies for the peer to pull; receive
 * (rx.c) validates each descriptor and builds the packet; the DMA engine's
 * copies (dma.c: pull, stage, reap, refill) and the receive placement of TCP
 * flows into 2 MiB frames (placement.c) serve both; attach.c opens and
 * leaves the wire; netif.c holds the ops the stack calls.
 */
#ifndef ZC_TRAPEZE_TRAPEZE_PRIV_H
#define ZC_TRAPEZE_TRAPEZE_PRIV_H

#include "nic/trapeze.h"
#include "nic/trapeze/wire_layout.h"
#include "stack/netif.h"
#include "stack/pool.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#define ZC__TZ_KICKERS 64u /* processes of one stack that can wake the peer */
#define ZC__TZ_FLOWS 8u
#define ZC__TZ_FLOW_RANGES 16u
/* One flow's receive placement; the key fields first. */
struct zc__tz_flow {
	uint32_t saddr, daddr;
	uint16_t sport, dport;
	bool used;
	uint32_t base;         /* sequence number at offset 0 of window 0 */
	bool based;            /* base is known (a SYN or a placed payload seen) */
	uint32_t win;          /* window (2 MiB of sequence space) of tmpl's frame */
	struct zc_mbuf *tmpl;  /* holds the current frame; NULL: none */
	uint64_t lru;
	bool full;             /* window win was written whole and let go */
	bool place;            /* the reader trades 2 MiB frames: place (else keep references) */
	uint32_t nr;           /* byte ranges of the frame written so far */
	uint32_t r[ZC__TZ_FLOW_RANGES][2];
};

struct zc__trapeze {
	struct zc_netif nif;
	struct zc_arena *arena; /* where this struct lives (NULL: the heap) */
	char path[ZC__TZ_PATH_MAX];
	int fd;
	struct zc__tz_shared *sh;
	size_t sh_len;
	int port;
	struct zc__tz_port *me, *peer;
	char irq_path[ZC__TZ_PATH_MAX + 16];      /* our interrupt's FIFO */
	char peer_irq_path[ZC__TZ_PATH_MAX + 16]; /* the peer's */
	int efd; /* our FIFO, read and write (never EOF); every process of a stack inherits it */
	/* the peer's FIFO, opened for writing by each process of the stack that
	 * kicks (this struct may be shared: an fd number is only a process's) */
	struct zc__tz_kicker {
		int32_t pid; /* 0: free */
		int fd;
		uint32_t gen; /* the peer's claim it was opened for */
	} kick[ZC__TZ_KICKERS];
	bool irq_warned;
	uint32_t page;
	uint32_t maxpages;  /* payload pages per frame (the wire's MTU / page) */
	uint32_t nframes;   /* frames in the wire: read once, the file is shared */
	uint32_t post_target;
	uint64_t rate_bps, delay_ns, link_free_at;
	struct zc_netif_stats st;
	/* pull descriptors sent: the packets stay here (their frames readable by
	 * the peer) until the peer's rx_tail passes them */
	struct zc_mbuf *held[ZC__TZ_RX_RING];
	uint32_t reaped;
	uint32_t nheld;     /* non-NULL entries of held[] */
	/* the peer's rx_tail and post_head as last read: lines the peer writes
	 * are read again only when these say the ring is full, a posted frame
	 * is missing or a held packet waits (each read of a line the other
	 * core wrote costs ~0.3 us here) */
	uint32_t peer_tail, peer_phead;
	/* receive by reference, sending side: packets whose payload the peer
	 * may keep in our frames, by id, until its return ring gives the id
	 * back; free ids on a stack */
	bool ref_tx;         /* offer references (ref=1, the default) */
	struct zc_mbuf *refs[ZC__TZ_REFS];
	uint32_t ref_val[ZC__TZ_REFS]; /* the id as sent: slot + ZC__TZ_REFS * serial */
	uint32_t ref_serial;
	uint32_t ref_free[ZC__TZ_REFS];
	uint32_t nref_free;
	uint32_t ret_tail;   /* the peer's return ring, read up to here */
	uint32_t ref_checks; /* reaps with references out since the peer's pid was last checked */
	int32_t ref_dead;    /* the peer's pid seen dead at the last check (0: none) */
	uint64_t ref_dead_since;
	/* receiving side: one shared info per packet kept by reference (its
	 * segments count on it; no callback, as the stack's state outlives an
	 * exec of this image), and the ids out */
	bool ref_rx;         /* keep references when offered (ref=1, and no middleware) */
	struct zc_ext_shinfo refsh[ZC__TZ_REFS]; /* by slot: id % ZC__TZ_REFS */
	uint32_t ref_id[ZC__TZ_REFS];            /* the id to give back */
	uint8_t ref_held[ZC__TZ_REFS];
	uint32_t refout[ZC__TZ_REFS];
	uint32_t nrefout;
	uint64_t ref_bytes, ref_given, ref_taken_back, ref_bad;
	/* receive placement (rx_huge) */
	struct zc_pool *rxp;
	struct zc__tz_flow flows[ZC__TZ_FLOWS];
	uint64_t flow_clock, placed_bytes, place_nobuf;
};

/* A process with this pid lives (of any user). */
static inline bool zc__pid_alive(int32_t pid)
{
	return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

static inline struct zc__trapeze *zc__tz(struct zc_netif *n) { return (struct zc__trapeze *)n; }

/* netif.c */
extern const struct zc_netif_ops zc__tz_ops;

/* attach.c: the netif's close (leaving the wire) */
void zc__tz_close(struct zc_netif *nif);

/* rx.c: the netif's receive burst */
int zc__tz_rx(struct zc_netif *nif, struct zc_mbuf **pkts, int n, uint64_t now);

/* tx.c: the netif's transmit burst, and the peer's interrupt (raised when
 * it sleeps) */
int zc__tz_tx(struct zc_netif *nif, struct zc_mbuf **pkts, int n, uint64_t now);
void zc__kick(struct zc__trapeze *t);

/* dma.c */
/* Keep this port's post ring filled with free frames, up to post_target. */
void zc__refill(struct zc__trapeze *t);
/* Free the pull packets the peer has consumed, and those whose references
 * it gave back. */
void zc__reap(struct zc__trapeze *t);
/* Receiving side: give back the ids of the references the stack is done
 * with (called at each burst). */
void zc__ref_return(struct zc__trapeze *t);
/* Receive a pull descriptor d (validated) offering references: the packet
 * keeps the sender's frames by reference. NULL when out of mbufs. */
struct zc_mbuf *zc__rx_ref(struct zc__trapeze *t, const struct zc__tz_desc *d, uint64_t now);
/* A reference offered and not kept (pulled instead, or dropped): its id
 * goes straight back. */
void zc__ref_decline(struct zc__trapeze *t, uint32_t id);
/* Receive a pull descriptor d (validated): copy the payload out of the
 * sender's frames. NULL when out of mbufs or frames. */
struct zc_mbuf *zc__rx_pull(struct zc__trapeze *t, const struct zc__tz_desc *d, uint64_t now);
/* A copy of packet m with its payload in frames of this port; m is freed.
 * NULL (m untouched) when frames or headers run out. */
struct zc_mbuf *zc__stage(struct zc__trapeze *t, struct zc_mbuf *m);

/* placement.c: receive placement (see trapeze.h) */
/* A SYN names the first sequence number of a flow's data: placement starts
 * there (an RST ends the flow). ctrl holds the headers of a packet without
 * payload. */
void zc__flow_syn(struct zc__trapeze *t, const uint8_t *ctrl, uint32_t len);
/* Place a pulled TCP payload of len bytes: segments over the flow's frames
 * appended to h. false: nothing changed, use page frames. */
bool zc__place(struct zc__trapeze *t, struct zc_mbuf *h, uint32_t len);
/* Does the flow of this pulled packet's headers want placement (its reader
 * trades 2 MiB frames, or references are off)? */
bool zc__flow_wants_place(struct zc__trapeze *t, const uint8_t *ctrl, uint32_t len);
/* The netif's rx_place: a reader's hint for one flow. */
void zc__tz_rx_place(struct zc_netif *nif, uint32_t saddr, uint32_t daddr, uint16_t sport, uint16_t dport,
		     bool on);
/* Let go of every flow's frame. */
void zc__flows_release(struct zc__trapeze *t);

#endif

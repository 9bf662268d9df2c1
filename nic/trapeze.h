/*
 * trapeze.h - the simulated Trapeze/Myrinet NIC: a named shared-memory wire
 * between two ports, in one process or two.
 *
 * The wire is a file /dev/shm/zcwire-NAME holding two receive rings, two
 * rings of posted receive frames and the page frames themselves, which both
 * ends map. Each port's pool is carved from the file. A frame on the wire is
 * a control message (the headers, at most 128 bytes) plus up to 16 payload
 * page frames. Sending trades frames: the sender's payload frames go to the
 * receiver and it takes as many of the receiver's posted frames in exchange
 * (page trading, as FreeBSD's zero-copy sockets keep the pools in
 * equilibrium); nothing is copied. A payload that is not whole pool frames
 * owned by the sender alone is copied into the receiver's posted frames by
 * the "NIC" and counted as DMA bytes.
 *
 * The driver is in nic/trapeze/ (its trapeze_priv.h says which file does
 * what; wire_layout.h is the shared file's format).
 */
#ifndef ZC_TRAPEZE_H
#define ZC_TRAPEZE_H

#include "stack/netif.h"

#include <sys/types.h>

#include <stdint.h>

#define ZC_TRAPEZE_CTRL_MAX 128u
#define ZC_TRAPEZE_MAX_PAGES 16u
#define ZC_TRAPEZE_NAME_MAX 32u

struct zc_arena;

struct zc_trapeze_config {
	const char *name;    /* [A-Za-z0-9_.-]{1,32}: the wire /dev/shm/zcwire-NAME */
	int port;            /* 0 or 1 */
	uint32_t mtu;        /* payload bytes per frame: whole pages, up to 64 KiB (0 = 64 KiB) */
	uint32_t nframes;    /* frames in the wire, both ports (0 = 16384) */
	uint64_t rate_bps;   /* link rate in bit/s, 0 = unlimited */
	uint64_t delay_ns;   /* one-way propagation delay */
	const uint8_t *mac;  /* NULL: 02:7a:63:00:00:<port+1> */
	/* 2 MiB frames for receive placement (0 = none): see below. */
	uint32_t rx_huge;
	/* Receive by reference off (ref=0): payload the peer keeps in its
	 * frames (a send buffer) is always pulled, copied, as before. On, the
	 * receiver keeps references to the sender's frames for flows whose
	 * reader does not trade placed 2 MiB frames. */
	bool no_ref;
	/* NULL: the port's state is this process's; else it (and its pools'
	 * bookkeeping) lives in this arena, for every process of the stack */
	struct zc_arena *arena;
};

/*
 * Receive placement (rx_huge > 0): the port keeps a private pool of 2 MiB
 * frames (shmem with transparent huge pages; none when the machine has
 * none, logged) and its DMA engine puts the payload of a TCP flow it pulls
 * from the sender at frame offset (seq - base) mod 2 MiB, base being the
 * first sequence number after the SYN it saw (as a NIC with direct data
 * placement would): a stream read in 2 MiB pieces then finds each piece in
 * one frame, from its first byte, ready to be mapped into the reader's
 * buffer. A byte range is never written twice into a frame (a retransmission
 * or a hostile overlap goes to an ordinary frame), and a frame is written
 * only while this flow's placement holds it, so no frame that a reader may
 * have been given is ever written. Eight flows are placed at a time (least
 * recently used first out); everything else lands in page frames as before.
 */

/* Open (creating if needed) the wire and claim a port. The netif's pool is
 * this port's share of the wire's frames. Returns NULL with errno set and a
 * clear log line: EINVAL (bad name or MTU, or a wire of another shape),
 * EBUSY (port claimed by a live process), ENAMETOOLONG, or a system error. */
struct zc_netif *zc_trapeze_open(const struct zc_trapeze_config *cfg);
/* True when the other port is claimed (the link is up). */
bool zc_trapeze_link_up(struct zc_netif *nif);
/* Processes of one stack (its state in an arena): the port's owner becomes
 * pid, another live process that drives it (the owner is the process a
 * new claimant finds alive, and the peer takes our interrupt from). */
void zc_trapeze_set_owner(struct zc_netif *nif, pid_t pid);
/* Frames this port has posted for the peer to trade (counted in flight in
 * its pool): a quiescent port's pool has exactly these outstanding. */
uint32_t zc_trapeze_posted(struct zc_netif *nif);
/* Take back the packets whose payload the peer has finished pulling (the
 * pull path; every burst does this too): before a leak check, so that only
 * posted frames remain outstanding on a quiet port. */
void zc_trapeze_reap(struct zc_netif *nif);
/* Remove a wire file by name (tests and benches clean up); 0 or -errno. */
int zc_trapeze_unlink(const char *name);

#endif

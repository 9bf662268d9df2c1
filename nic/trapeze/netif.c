/*
 * netif.c - the Trapeze driver as the stack sees it: its netif ops (see
 * stack/netif.h), with the receive interrupt and the port's counters.
 *
 * Interrupts: a port that wants to sleep sets "sleeping", then re-checks its
 * ring (a Dekker pair with the sender's fence); a sender that sees "sleeping"
 * writes a byte into the peer's FIFO (zc__kick in tx.c), beside the wire's
 * file: any process that can open it by path, of any user, can wake the
 * port (pidfd_getfd(2) of an eventfd needed ptrace rights over the peer).
 */
#include "nic/trapeze/trapeze_priv.h"

#include <errno.h>
#include <unistd.h>

static bool zc__tz_rx_ready(struct zc_netif *nif)
{
	struct zc__tz_port *me = zc__tz(nif)->me;
	return zc__tz_rx_head(me, memory_order_acquire) != zc__tz_rx_tail(me, memory_order_relaxed);
}

static int zc__tz_irq_fd(struct zc_netif *nif) { return zc__tz(nif)->efd; }

static int zc__tz_irq_arm(struct zc_netif *nif)
{
	struct zc__trapeze *t = zc__tz(nif);
	zc__tz_set_sleeping(t->me, 1);
	atomic_thread_fence(memory_order_seq_cst);
	if (zc__tz_rx_head(t->me, memory_order_seq_cst) != zc__tz_rx_tail(t->me, memory_order_seq_cst)) {
		zc__tz_set_sleeping(t->me, 0);
		return -EAGAIN;
	}
	t->st.irq_waits++;
	return 0;
}

static void zc__tz_irq_drain(struct zc_netif *nif)
{
	char v[256];
	while (read(zc__tz(nif)->efd, v, sizeof(v)) == (ssize_t)sizeof(v))
		;
}

static void zc__tz_irq_ack(struct zc_netif *nif)
{
	zc__tz_set_sleeping(zc__tz(nif)->me, 0);
	zc__tz_irq_drain(nif);
}

static uint64_t zc__tz_next_due(struct zc_netif *nif)
{
	struct zc__trapeze *t = zc__tz(nif);
	uint32_t tail = zc__tz_rx_tail(t->me, memory_order_relaxed);
	if (tail == zc__tz_rx_head(t->me, memory_order_acquire))
		return UINT64_MAX;
	return zc__tz_desc_due(zc__tz_rx_slot(t->me, tail));
}

static void zc__tz_stats(struct zc_netif *nif, struct zc_netif_stats *st)
{
	*st = zc__tz(nif)->st;
	st->placed_bytes = zc__tz(nif)->placed_bytes;
	st->ref_bytes = zc__tz(nif)->ref_bytes;
}

const struct zc_netif_ops zc__tz_ops = {
	.rx_burst = zc__tz_rx,
	.tx_burst = zc__tz_tx,
	.next_due = zc__tz_next_due,
	.rx_ready = zc__tz_rx_ready,
	.irq_fd = zc__tz_irq_fd,
	.irq_arm = zc__tz_irq_arm,
	.irq_ack = zc__tz_irq_ack,
	.irq_drain = zc__tz_irq_drain,
	.rx_place = zc__tz_rx_place,
	.get_stats = zc__tz_stats,
	.close = zc__tz_close,
};

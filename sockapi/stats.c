/*
 * stats.c - the zero-copy counters (per socket and for the context) and
 * zcstat's view of a context (counters, NIC, pools, sockets, the stack).
 * A socket keeps its own counters; the context adds them into its totals
 * when the socket goes (zc__sock_free), so the context's view is its
 * totals plus the sockets still open. The pass-by counters (bypass.h) are
 * the context's, or the preload's that it counts into.
 */
#include "sockapi/socket_priv.h"
#include "sockapi/cow.h"
#include "sockapi/zerocopy.h"
#include "stack/pool.h"

int zc_sock_zstats(struct zc_sockctx *cx, int fd, struct zc_zstats *out)
{
	if (fd < 0) {
		zc__lock(cx);
		zc__zc_totals(cx->zz, out);
		/* sockets still open add their own, once each (dup gives a socket
		 * several numbers: it counts at the first) */
		for (int i = 0; i < cx->tabcap; i++) {
			struct zc__sock *s = cx->tab[i];
			bool seen = false;
			for (int j = 0; s && s->nfds > 1 && j < i && !seen; j++)
				seen = cx->tab[j] == s;
			if (s == NULL || seen)
				continue;
			zc__zstats_add_sock(out, &s->zs);
		}
		zc__cow_totals(cx->cow, out);
		struct zc_netif_stats ns = { 0 };
		if (cx->nif->ops->get_stats)
			cx->nif->ops->get_stats(cx->nif, &ns);
		out->dma_bytes = ns.dma_bytes;
		out->ref_bytes = ns.ref_bytes;
		zc__unlock(cx);
		return 0;
	}
	struct zc__sock *s = zc__enter(cx, fd);
	if (s == NULL)
		return -1;
	*out = s->zs;
	return (int)zc__ret(cx, s, 0);
}

void zc_sockctx_dump(struct zc_sockctx *cx, FILE *f)
{
	struct zc_zstats z;
	zc_sock_zstats(cx, -1, &z);
	struct zc_zcopy_costs c[2];
	zc_sockctx_costs(cx, c);
	zc__lock(cx);
	fprintf(f, "zcopy_policy %s\n", zc_zcopy_name(zc__zc_policy(cx->zz)));
	for (int i = 0; i < 2; i++)
		if (c[i].frame_size)
			fprintf(f, "zcopy_frame_%u copy_ns %llu remap_ns %llu trade %s\n", c[i].frame_size,
				(unsigned long long)c[i].copy_ns, (unsigned long long)c[i].remap_ns,
				c[i].trade ? "yes" : "no");
	fprintf(f, "bytes_copied %llu\nbytes_traded %llu\nbytes_viewed %llu\nbytes_cow %llu\n"
		   "deferred_copies %llu\ndeferred_bytes %llu\ndma_bytes %llu\nref_bytes %llu\ntrades %llu\n"
		   "frames_reclaimed %llu\ntrade_fallbacks %llu\ntrade_pauses %llu\nremap_ns %llu\n",
		(unsigned long long)z.bytes_copied, (unsigned long long)z.bytes_traded,
		(unsigned long long)z.bytes_viewed, (unsigned long long)z.bytes_cow,
		(unsigned long long)z.deferred_copies, (unsigned long long)z.deferred_bytes,
		(unsigned long long)z.dma_bytes, (unsigned long long)z.ref_bytes, (unsigned long long)z.trades,
		(unsigned long long)z.frames_reclaimed, (unsigned long long)z.trade_fallbacks,
		(unsigned long long)z.trade_pauses, (unsigned long long)z.remap_ns);
	struct zc_arena_stats as;
	zc_arena_stats(cx->arena, &as);
	fprintf(f, "procs %u\nforks %llu\nexecs %llu\nprocs_reaped %llu\nbells %llu\nlent_taken_back %llu\n",
		cx->shm->nprocs, (unsigned long long)cx->shm->forks, (unsigned long long)cx->shm->execs,
		(unsigned long long)cx->shm->procs_reaped, (unsigned long long)cx->shm->bells,
		(unsigned long long)cx->shm->lent_taken_back);
	unsigned slot_nic = 0;
	for (int i = 0; i < ZC__SLOTS; i++)
		slot_nic += cx->shm->slot[i].nic_sleepers;
	fprintf(f, "nic_sleepers %u\nnic_sleepers_by_procs %u\nnic_owner %d\n", cx->shm->nic_sleepers, slot_nic,
		(int)cx->shm->nic_owner);
	fprintf(f, "lock_recoveries %llu\narena_bytes %llu\narena_peak %llu\narena_failures %llu\n",
		(unsigned long long)cx->lk->recoveries, (unsigned long long)as.bytes_in_use,
		(unsigned long long)as.bytes_peak, (unsigned long long)as.failures);
	struct zc_netif_stats ns = { 0 };
	if (cx->nif->ops->get_stats)
		cx->nif->ops->get_stats(cx->nif, &ns);
	fprintf(f, "nic %s rx_packets %llu rx_dropped %llu tx_packets %llu tx_dropped %llu tx_busy %llu "
		   "zc_frames %llu placed_bytes %llu irq_raised %llu irq_waits %llu\n",
		cx->nif->name, (unsigned long long)ns.rx_packets, (unsigned long long)ns.rx_dropped,
		(unsigned long long)ns.tx_packets, (unsigned long long)ns.tx_dropped,
		(unsigned long long)ns.tx_busy, (unsigned long long)ns.zc_frames,
		(unsigned long long)ns.placed_bytes, (unsigned long long)ns.irq_raised,
		(unsigned long long)ns.irq_waits);
	for (int i = 0; i < 2; i++) {
		struct zc_pool *P = i ? cx->nif->rx_pool : cx->nif->pool;
		if (P == NULL)
			continue;
		struct zc_pool_stats ps;
		zc_pool_get_stats(P, &ps);
		fprintf(f, "pool%d frame_size %u owned %u free %u in_flight %u lent %u lost %u mbufs_free %u/%u "
			   "alloc_failures %llu taken_back %llu\n",
			i, ps.frame_size, ps.frames_owned, ps.frames_free, ps.frames_in_flight, ps.frames_lent,
			ps.frames_lost, ps.mbufs_free, ps.mbufs_total, (unsigned long long)ps.alloc_failures,
			(unsigned long long)ps.frames_taken_back);
	}
	zc_bypass_dump(cx->bypass, f);
	fprintf(f, "sockets %u\n", cx->nsocks);
	for (int fd = 0; fd < cx->tabcap; fd++) {
		struct zc__sock *s = cx->tab[fd];
		if (s == NULL)
			continue;
		char a[16], b[16];
		uint32_t lip = 0, rip = 0;
		uint16_t lp = 0, rp = 0;
		if (s->tcp) {
			zc_tcp_local(s->tcp, &lip, &lp);
			zc_tcp_remote(s->tcp, &rip, &rp);
			struct zc_tcp_info ti;
			zc_tcp_get_info(s->tcp, &ti);
			fprintf(f, "fd %d tcp %s %s:%u -> %s:%u recvq %u unacked %u rtt_us %u cwnd %u retrans %u "
				   "copied %llu traded %llu cow %llu\n",
				fd, zc_tcp_state_name(zc_tcp_get_state(s->tcp)), zc_ipv4_str(lip ? lip : zc_stack_ip(cx->st), a),
				lp, zc_ipv4_str(rip, b), rp, zc_tcp_readable(s->tcp), ti.tcpi_unacked, ti.tcpi_rtt,
				ti.tcpi_snd_cwnd, ti.tcpi_total_retrans, (unsigned long long)s->zs.bytes_copied,
				(unsigned long long)s->zs.bytes_traded, (unsigned long long)s->zs.bytes_cow);
			if (s->klisten) /* the line above ends in a newline: the kernel's side on its own line */
				fprintf(f, "fd %d tcp LISTEN kernel-side %s:%u accepted %llu\n", fd,
					s->family == AF_INET6 ? "[::]" : "0.0.0.0", lp,
					(unsigned long long)s->kaccepted);
		} else {
			fprintf(f, "fd %d udp port %u queued %u peer %s:%u\n", fd,
				s->udp_bound ? zc_udp_local_port(s->udp) : 0, zc_udp_pending(s->udp),
				zc_ipv4_str(s->peer_ip, b), s->peer_port);
		}
	}
	zc_stack_dump(cx->st, f);
	zc__unlock(cx);
}

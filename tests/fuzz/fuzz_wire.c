/* fuzz_wire.c - libFuzzer harness 4: a hostile Trapeze peer. A stack is on
 * port 1 of a new wire for each input (a TCP listener on port 80, a UDP
 * socket on port 9); port 0 is claimed by the harness, which, instead of
 * behaving as a driver, writes the shared file's rings, indices and
 * descriptors as the fuzzer says, between the stack's polls. The stack must
 * never crash or touch memory outside what it mapped (ASan/UBSan, SIGSEGV),
 * never hang, and close the port cleanly afterwards.
 *
 * Input: a sequence of operations, each an opcode byte and its arguments
 * (little-endian; a short input reads zeros):
 *   0 poke   off:u16 len:u8 bytes   write bytes anywhere in the shared
 *                                   header (both ports' claims, indices,
 *                                   rings, the wire's own fields)
 *   1 desc   payload_len:u32 ctrl_len:u16 npages:u8 flags:u8 nsrc:u32
 *            ref:u32 k:u8 then k u32 words (pages, taken, src pieces in
 *            that order) and ctrl:u8 bytes of control message: a
 *            descriptor in the stack's receive ring, its head bumped by one
 *   2 head   delta:u16              the stack's receive head moved on
 *   3 poll   ms:u8                  the clock on, the stack polled
 *   4 peer   -                      port 0 receives what the stack sent
 *                                   (as a well-behaved peer would)
 *   5 send   len:u16                the stack sends a UDP datagram of len
 *                                   bytes to the peer (ARP, trading,
 *                                   pulls: the transmit path reads the
 *                                   peer's post ring)
 *   6 ret    id:u32                 an id in port 0's return ring (a
 *                                   reference of the stack's given back)
 *   7 post   n:u8 then n u32        frame numbers in port 0's post ring
 *                                   (frames the stack may trade for)
 * Each operation is followed by a poll of the stack. */
#include "fuzz_fail.h"
#include "nic/trapeze.h"
#include "nic/trapeze/wire_layout.h"
#include "nic/trapeze_priv.h"
#include "stack/log.h"
#include "stack/pool.h"
#include "stack/stack.h"
#include "stack/tcp.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define IP_PEER 0x0a000001u
#define IP_B 0x0a000002u
#define T0 1000000000ull
#define MS 1000000ull

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct rd {
	const uint8_t *p, *end;
};

static uint32_t rd_n(struct rd *r, int n)
{
	uint32_t v = 0;
	for (int i = 0; i < n; i++)
		v |= (uint32_t)(r->p < r->end ? *r->p++ : 0) << (8 * i);
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char wire[32];
	static uint8_t buf[65536];
	if (wire[0] == '\0') {
		zc_log_set_level(ZC_LOG_QUIET);
		snprintf(wire, sizeof(wire), "fzw%d", (int)getpid());
	}
	if (size > 1 << 16)
		return -1;
	zc_trapeze_unlink(wire);
	struct zc_trapeze_config ca = { .name = wire, .port = 0, .mtu = 16384, .nframes = 1024 };
	struct zc_trapeze_config cb = ca;
	cb.port = 1;
	struct zc_netif *a = zc_trapeze_open(&ca), *b = zc_trapeze_open(&cb);
	if (a == NULL || b == NULL)
		fuzz_fail("cannot open the wire");
	uint64_t now = T0;
	struct zc_stack_config sc = { .nif = b, .ip = IP_B, .prefix_len = 24, .seed = 1, .now = now };
	struct zc_stack *st = zc_stack_create(&sc);
	struct zc_tcp_sock *l = st ? zc_tcp_socket(st) : NULL;
	struct zc_udp_sock *u = st ? zc_udp_open(st) : NULL;
	if (l == NULL || u == NULL || zc_tcp_bind(l, 0, 80) != 0 || zc_tcp_listen(l, 4) != 0 ||
	    zc_udp_bind(u, 0, 9) != 0)
		fuzz_fail("no stack or sockets");
	size_t shlen;
	uint8_t *sh = zc__trapeze_shared(b, &shlen);
	struct zc__tz_port *pa = zc__tz_port((struct zc__tz_shared *)sh, 0);
	struct zc__tz_port *pb = zc__tz_port((struct zc__tz_shared *)sh, 1);
	struct rd r = { data, data + size };
	while (r.p < r.end) {
		switch (rd_n(&r, 1) % 8) {
		case 0: {
			uint32_t off = rd_n(&r, 2) % shlen, len = rd_n(&r, 1);
			for (uint32_t i = 0; i < len && off + i < shlen; i++)
				sh[off + i] = (uint8_t)rd_n(&r, 1);
			break;
		}
		case 1: {
			uint32_t head = zc__tz_rx_head(pb, memory_order_relaxed);
			struct zc__tz_desc *d = zc__tz_rx_slot(pb, head);
			memset(d, 0, sizeof(*d));
			d->payload_len = rd_n(&r, 4);
			d->ctrl_len = (uint16_t)rd_n(&r, 2);
			d->npages = (uint8_t)rd_n(&r, 1);
			d->flags = (uint8_t)rd_n(&r, 1);
			d->nsrc = rd_n(&r, 4);
			d->ref = rd_n(&r, 4);
			uint32_t k = rd_n(&r, 1), words = 2 * ZC_TRAPEZE_MAX_PAGES + 3 * ZC__TZ_MAX_SRC;
			for (uint32_t i = 0; i < k && i < words; i++) {
				uint32_t w = rd_n(&r, 4);
				if (i < ZC_TRAPEZE_MAX_PAGES)
					d->pages[i] = w;
				else if (i < 2 * ZC_TRAPEZE_MAX_PAGES)
					d->taken[i - ZC_TRAPEZE_MAX_PAGES] = w;
				else
					((uint32_t *)d->src)[i - 2 * ZC_TRAPEZE_MAX_PAGES] = w;
			}
			uint32_t c = rd_n(&r, 1);
			for (uint32_t i = 0; i < c; i++)
				d->ctrl[i] = (uint8_t)rd_n(&r, 1);
			zc__tz_set_rx_head(pb, head + 1, memory_order_release);
			break;
		}
		case 2:
			zc__tz_set_rx_head(pb, zc__tz_rx_head(pb, memory_order_relaxed) + rd_n(&r, 2),
					   memory_order_release);
			break;
		case 3:
			now += (1 + rd_n(&r, 1)) * MS;
			break;
		case 4: {
			struct zc_mbuf *m[32];
			for (int k, n = 0; n < 8 && (k = zc_netif_rx(a, m, 32, now)) > 0; n++)
				while (k > 0)
					zc_mbuf_free(m[--k]);
			break;
		}
		case 5: {
			uint32_t len = rd_n(&r, 2);
			memset(buf, 0x5a, len);
			(void)zc_udp_sendto(u, buf, len, IP_PEER, 7);
			break;
		}
		case 6: {
			uint32_t id = rd_n(&r, 4);
			zc__trapeze_forge_return(a, id);
			break;
		}
		case 7: {
			uint32_t n = rd_n(&r, 1) % 64, head = zc__tz_post_head(pa, memory_order_relaxed);
			for (uint32_t i = 0; i < n; i++)
				zc__tz_post_set(pa, head + i, rd_n(&r, 4));
			zc__tz_set_post_head(pa, head + n, memory_order_release);
			break;
		}
		}
		zc_stack_poll(st, now);
	}
	/* the peer goes as a dead process would (no settling: the stack's
	 * port closes at once), then the stack, then the port */
	zc__tz_set_owner(pa, 0);
	zc_stack_destroy(st);
	zc_netif_close(b);
	zc_netif_close(a);
	zc_trapeze_unlink(wire);
	return 0;
}

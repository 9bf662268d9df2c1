/* fuzz_frame.c - libFuzzer harness 1: single frames from a NIC into the
 * stack, through every parser (Ethernet, ARP, IPv4 and its options and
 * fragments, ICMP, UDP, TCP and its options).
 *
 * Input: one control byte, then the frame. The stack is new for each
 * input, knows X's MAC, listens on TCP port 80, has a UDP socket on port
 * 9 and a connection from X:40000 to port 80 in ESTABLISHED (X's ISN
 * 1000, window scale 7, SACK and timestamps). Control bits: 1 makes
 * the IPv4 header checksum right, 2 the TCP/UDP/ICMP one, 4 delivers the
 * frame twice, 8 runs the clock 40 s on afterwards (timers, the
 * reassembly's expiry, TIME_WAIT), 16 takes a TCP header's sequence and
 * acknowledgment numbers (with a 20-byte IP header) as relative to the
 * connection's (X's next byte, the stack's ISN + 1). After each input the stack is destroyed
 * and every buffer must be back in the pool (fuzz_env.h). */
#include "fuzz_env.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t f[FUZZ_MTU + ZC_ETH_HLEN + 64];
	if (size < 1 || size - 1 > sizeof(f))
		return -1; /* not kept in the corpus */
	uint8_t ctl = data[0];
	size_t len = size - 1;
	memcpy(f, data + 1, len);

	struct fuzz_env *e = fuzz_begin();
	fuzz_arp(e);
	struct zc_tcp_sock *l = zc_tcp_socket(e->st);
	struct zc_udp_sock *u = zc_udp_open(e->st);
	if (l == NULL || u == NULL || zc_tcp_bind(l, 0, 80) != 0 || zc_tcp_listen(l, 4) != 0 || zc_udp_bind(u, 0, 9) != 0)
		fuzz_fail("no sockets");
	uint32_t iss = fuzz_handshake(e, 1000);
	size_t t = ZC_ETH_HLEN + ZC_IPV4_HLEN;
	if ((ctl & 16) && len >= t + ZC_TCP_HLEN && f[ZC_ETH_HLEN] == 0x45 && f[ZC_ETH_HLEN + 9] == ZC_IPPROTO_TCP) {
		zc_put32(f + t + 4, zc_get32(f + t + 4) + 1001);
		zc_put32(f + t + 8, zc_get32(f + t + 8) + iss + 1);
	}
	fuzz_fix_csums(f, len, ctl & 1, ctl & 2);
	fuzz_inject(e, f, len);
	if (ctl & 4)
		fuzz_inject(e, f, len);
	if (ctl & 8)
		fuzz_advance(e, 40 * 1000000000ull);
	uint8_t b[2048];
	uint32_t ip;
	uint16_t port;
	while (zc_udp_recvfrom(u, b, sizeof(b), &ip, &port) >= 0)
		;
	int err;
	struct zc_tcp_sock *c;
	while ((c = zc_tcp_accept(l, &err)) != NULL) {
		while (zc_tcp_recv(c, b, sizeof(b)) > 0)
			;
		zc_tcp_close(c);
	}
	fuzz_end(e);
	return 0;
}

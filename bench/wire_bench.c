/*
 * wire_bench.c - frames/s and GB/s of the Trapeze wire between two processes,
 * beside memcpy of the same bytes, measured in the same run.
 *
 *   wire_bench [--csv FILE] [--bytes N] [--rounds R]
 *
 * For each payload size (4 KiB to 64 KiB) the parent sends N bytes of frames
 * to a forked receiver, which frees each frame as it arrives. The payload
 * frames are filled once before the clock starts: the timed loop is the
 * hand-over itself (build the header, attach pool frames, trade them), which
 * moves no payload byte; tests/wire_integrity.c checks the data. memcpy
 * copies the same number of bytes in chunks of the same size through 64 MiB
 * buffers (larger than the caches, like the pool). Each figure is the median
 * of R rounds.
 */
#include "nic/trapeze.h"
#include "stack/log.h"
#include "stack/pool.h"
#include "stack/wire.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Each frame's header mbuf: an Ethernet header and 32 zero bytes in place
 * of the IP and transport headers a stack would put there. */
#define HDR_BYTES (ZC_ETH_HLEN + 32)
#define RX_BATCH 64      /* frames the receiver takes per zc_netif_rx */
#define TX_BATCH 32      /* frames built and handed over per zc_netif_tx */
#define MAX_PAYLOAD 65536 /* the largest size measured, and the wire's largest MTU */
#define MAX_ROUNDS 99
#define COPY_AREA (64u << 20) /* memcpy's buffers: larger than the caches, like the pool */
/* The receiver's port comes up within 5 s: checked every millisecond. */
#define LINK_TRIES 5000
#define LINK_WAIT_US 1000

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *m)
{
	fprintf(stderr, "wire_bench: %s\n", m);
	exit(2);
}

struct cmd {
	uint64_t frames; /* 0: quit */
};

static void receiver(const char *wire, int cmd_fd, int done_fd)
{
	struct zc_trapeze_config c = { .name = wire, .port = 1 };
	struct zc_netif *n = zc_trapeze_open(&c);
	if (n == NULL)
		die("receiver cannot open the wire");
	struct cmd cm;
	while (read(cmd_fd, &cm, sizeof(cm)) == sizeof(cm) && cm.frames) {
		uint64_t got = 0;
		struct zc_mbuf *m[RX_BATCH];
		while (got < cm.frames) {
			int k = zc_netif_rx(n, m, RX_BATCH, 0);
			for (int i = 0; i < k; i++)
				zc_mbuf_free(m[i]);
			got += (uint64_t)k;
		}
		if (write(done_fd, &got, sizeof(got)) != sizeof(got))
			die("pipe");
	}
	zc_netif_close(n);
	_exit(0);
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(double), cmp_d);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Seconds to send `frames` frames of `payload` bytes and have them all received. */
static double run_wire(struct zc_netif *n, int cmd_fd, int done_fd, uint64_t frames, uint32_t payload)
{
	const uint32_t page = zc_pool_frame_size(n->pool);
	uint8_t hdr[64];
	struct zc_eth e = { .type = ZC_ETHERTYPE_TEST };
	memcpy(e.src, n->mac, 6);
	memcpy(e.dst, n->mac, 6);
	zc_eth_build(hdr, &e);
	memset(hdr + ZC_ETH_HLEN, 0, HDR_BYTES - ZC_ETH_HLEN);
	struct cmd cm = { frames };
	if (write(cmd_fd, &cm, sizeof(cm)) != sizeof(cm))
		die("pipe");
	uint64_t t0 = now_ns(), sent = 0;
	struct zc_mbuf *batch[TX_BATCH];
	int nb = 0;
	while (sent < frames) {
		while (nb < TX_BATCH && sent + (uint64_t)nb < frames) {
			struct zc_mbuf *h = zc_mbuf_alloc(n->pool);
			if (h == NULL)
				break;
			memcpy(zc_mbuf_append(h, HDR_BYTES), hdr, HDR_BYTES);
			uint32_t done = 0;
			while (done < payload) {
				struct zc_mbuf *s = zc_mbuf_alloc_frame(n->pool);
				if (s == NULL)
					break;
				s->len = s->pkt_len = payload - done < page ? payload - done : page;
				zc_mbuf_cat(h, s);
				done += s->len;
			}
			if (done < payload) {
				zc_mbuf_free(h);
				break;
			}
			batch[nb++] = h;
		}
		int k = zc_netif_tx(n, batch, nb, 0);
		memmove(batch, batch + k, (size_t)(nb - k) * sizeof(batch[0]));
		nb -= k;
		sent += (uint64_t)k;
	}
	uint64_t got;
	if (read(done_fd, &got, sizeof(got)) != sizeof(got) || got != frames)
		die("receiver lost frames");
	return (double)(now_ns() - t0) / 1e9;
}

static double run_memcpy(uint8_t *src, uint8_t *dst, size_t area, uint64_t bytes, uint32_t chunk)
{
	uint64_t t0 = now_ns();
	size_t off = 0;
	for (uint64_t done = 0; done < bytes; done += chunk) {
		if (off + chunk > area)
			off = 0;
		memcpy(dst + off, src + off, chunk);
		off += chunk;
	}
	__asm__ volatile("" ::"r"(dst) : "memory");
	return (double)(now_ns() - t0) / 1e9;
}

int main(int argc, char **argv)
{
	const char *csv = NULL;
	uint64_t bytes = 2ull << 30;
	int rounds = 5;
	uint32_t mtu = 0, nframes = 0;
	static const struct option opts[] = { { "csv", required_argument, 0, 'c' },
					      { "bytes", required_argument, 0, 'b' },
					      { "rounds", required_argument, 0, 'r' },
					      { "mtu", required_argument, 0, 'm' },
					      { "frames", required_argument, 0, 'f' },
					      { "help", no_argument, 0, 'h' },
					      { 0, 0, 0, 0 } };
	int o;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'c': csv = optarg; break;
		case 'b': bytes = strtoull(optarg, NULL, 0); break;
		case 'r': rounds = atoi(optarg); break;
		case 'm': mtu = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'f': nframes = (uint32_t)strtoul(optarg, NULL, 0); break;
		default:
			fprintf(o == 'h' ? stdout : stderr, "usage: wire_bench [--csv FILE] [--bytes N (default 2 GiB)] [--rounds R (default 5)]\n"
			       "                  [--mtu BYTES (whole pages, <= 65536)] [--frames N (default 16384)]\n"
			       "Trapeze wire between two processes vs memcpy of the same bytes; median of R rounds.\n");
			return o == 'h' ? 0 : 2;
		}
	}
	if (rounds < 1 || rounds > MAX_ROUNDS || bytes < (1u << 20))
		die("--rounds must be 1..99 and --bytes at least 1 MiB");
	char wire[32];
	snprintf(wire, sizeof(wire), "bench%d", (int)getpid());
	zc_trapeze_unlink(wire);
	struct zc_trapeze_config c = { .name = wire, .port = 0, .mtu = mtu, .nframes = nframes };
	struct zc_netif *n = zc_trapeze_open(&c);
	if (n == NULL)
		die("cannot open the wire (see the message above)");
	int cmdp[2], donep[2];
	if (pipe(cmdp) || pipe(donep))
		die("pipe");
	pid_t child = fork();
	if (child == 0) {
		close(cmdp[1]);
		close(donep[0]);
		receiver(wire, cmdp[0], donep[1]); /* does not return */
	}
	close(cmdp[0]);
	close(donep[1]);
	for (int i = 0; !zc_trapeze_link_up(n); i++) {
		if (i > LINK_TRIES)
			die("the receiver never came up");
		usleep(LINK_WAIT_US);
	}
	/* fill every frame of our share once, before any clock starts */
	struct zc_pool_stats ps;
	zc_pool_get_stats(n->pool, &ps);
	for (uint32_t f = 0; f < ps.frames_total; f++)
		if (zc_pool_owns(n->pool, f))
			memset(zc_pool_frame_addr(n->pool, f), (int)(f & 0xff), ps.frame_size);
	size_t area = COPY_AREA;
	uint8_t *src = malloc(area), *dst = malloc(area);
	memset(src, 1, area);
	memset(dst, 2, area);

	FILE *out = csv ? fopen(csv, "w") : NULL;
	if (csv && out == NULL)
		die("cannot write the CSV file");
	if (out)
		fprintf(out, "payload_bytes,frames,wire_frames_per_s,wire_GBps,memcpy_GBps,wire_over_memcpy\n");
	printf("Trapeze wire, two processes, %.1f GiB per round, median of %d rounds\n",
	       (double)bytes / (1 << 30), rounds);
	printf("| payload | frames/s (wire) | GB/s (wire) | GB/s (memcpy) | wire / memcpy |\n");
	printf("|--------:|----------------:|------------:|--------------:|--------------:|\n");
	const uint32_t sizes[] = { 4096, 8192, 16384, 32768, 65536 };
	for (unsigned s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		uint32_t p = sizes[s];
		if (p > (mtu ? mtu : MAX_PAYLOAD))
			break; /* larger than the wire's MTU */
		uint64_t frames = bytes / p;
		double w[MAX_ROUNDS], m[MAX_ROUNDS];
		run_wire(n, cmdp[1], donep[0], frames / 8, p); /* warm up */
		for (int r = 0; r < rounds; r++) {
			w[r] = run_wire(n, cmdp[1], donep[0], frames, p);
			m[r] = run_memcpy(src, dst, area, frames * p, p);
		}
		double ws = median(w, rounds), ms = median(m, rounds);
		double fps = (double)frames / ws, wg = (double)frames * p / ws / 1e9,
		       mg = (double)frames * p / ms / 1e9;
		printf("| %5u B | %15.0f | %11.2f | %13.2f | %12.2fx |\n", p, fps, wg, mg, wg / mg);
		if (out)
			fprintf(out, "%u,%" PRIu64 ",%.0f,%.3f,%.3f,%.3f\n", p, frames, fps, wg, mg, wg / mg);
	}
	struct zc_netif_stats st;
	n->ops->get_stats(n, &st);
	printf("sender NIC: %" PRIu64 " frames, %" PRIu64 " payload pages handed over, %" PRIu64
	       " bytes copied (DMA), %" PRIu64 " busy\n",
	       st.tx_packets, st.zc_frames, st.dma_bytes, st.tx_busy);
	struct cmd q = { 0 };
	if (write(cmdp[1], &q, sizeof(q)) != sizeof(q))
		die("pipe");
	waitpid(child, NULL, 0);
	zc_netif_close(n);
	if (out)
		fclose(out);
	free(src);
	free(dst);
	return 0;
}

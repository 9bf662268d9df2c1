/*
 * zc_bench.c - copy vs page trading / copy-on-write through the socket
 * layer, two processes on a Trapeze wire, beside the Linux kernel over
 * loopback with and without its zero-copy interfaces, in one run.
 *
 *   zc_bench [--rounds R] [--sizes 4K,64K,2M,...] [--modes LIST] [--scale F] [--csv FILE]
 *   zc_bench --verify --policy never|auto|always [--bytes N] [--size S]
 *
 * Part 1 measures what the policy decides from: remapping k bytes of a
 * pool file into a buffer (4 KiB pages, and 2 MiB transparent huge pages)
 * against copying them, for k from 4 KiB to 4 MiB, and prints the crossover.
 *
 * Part 2 sweeps read/write sizes from 4 KiB to 4 MiB. For each size the
 * modes run back to back, R rounds, and the medians are reported: the
 * three policies (never, auto, always) on the Trapeze wire, and two
 * single-threaded processes over a kernel loopback connection: send/recv,
 * MSG_ZEROCOPY sends (completions read from the error queue),
 * TCP_ZEROCOPY_RECEIVE reads (pages mapped into a mapping of the socket,
 * recv for what it cannot map) and both. Measures: throughput, CPU time
 * per GiB of both processes (all threads, getrusage), host-stack bytes
 * copied per byte delivered (socket layer: sender copy-in + receiver
 * copy-out + deferred copies, the NIC's DMA reported apart; kernel: bytes
 * recv'd, sent plainly, or whose MSG_ZEROCOPY completion says COPIED), and
 * the shares received and sent without a copy. The sender writes one
 * page-aligned buffer it never rewrites (iperf3's pattern); the receiver
 * reads with MSG_WAITALL into a 2 MiB-aligned one; kernel cells check one
 * word of every page received. With --csv, a plot beside it (gnuplot).
 *
 * --verify moves N bytes (default 1 GiB) whose every byte is a function of
 * its stream offset, rewriting the send buffer before each write, under one
 * policy, and compares SHA-256 of what was sent and received.
 */
#include "zc_bench.h"
#include "nic/trapeze.h"
#include "sockapi/socket.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Bytes per cell at --scale 1, by write size: fewer for the small sizes,
 * whose cells run slower. */
#define CELL_BYTES_SMALL (192 * MiB) /* below 64 KiB */
#define CELL_BYTES_MID (384 * MiB)   /* 64 KiB to 1 MiB */
#define CELL_BYTES_LARGE (768 * MiB) /* 1 MiB and above */

/* --- options --------------------------------------------------------------------------------- */

struct opts {
	int rounds, policy;
	double scale;
	const char *csv, *sizes_arg, *modes_arg;
	bool verify;
	uint64_t vbytes, vsize;
};

static int parse_size(const char *s, uint64_t *out)
{
	char *e;
	double v = strtod(s, &e);
	if (e == s || v <= 0)
		return -1;
	if (*e == 'K' || *e == 'k')
		v *= KiB, e++;
	else if (*e == 'M' || *e == 'm')
		v *= MiB, e++;
	else if (*e == 'G' || *e == 'g')
		v *= 1024.0 * MiB, e++;
	if (*e)
		return -1;
	*out = (uint64_t)v;
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: zc_bench [--rounds R] [--sizes 4K,64K,2M] [--modes LIST] [--scale F] [--csv FILE] [--no-pin]\n"
		"       zc_bench --verify --policy never|auto|always [--bytes 1G] [--size 1M]\n"
		"Two processes on a Trapeze wire, through the socket layer: copy (never) against\n"
		"page trading and copy-on-write (auto, always); beside them, alternating, two\n"
		"single-threaded processes over the kernel's loopback: send/recv (kernel-copy),\n"
		"MSG_ZEROCOPY sends (kernel-msg_zerocopy), TCP_ZEROCOPY_RECEIVE reads\n"
		"(kernel-zerocopy_receive) and both (kernel-both). Medians of R rounds.\n"
		"--modes: a comma list of those names (default: all seven); 'kernel' means the four\n"
		"kernel modes. Receivers run on CPU 0 and senders on CPU 1; --no-pin leaves them\n"
		"to the scheduler.\n");
}

/* Adds the modes named in a comma list; -1 for an unknown name. */
static int parse_modes(const char *arg, bool on[NMODES])
{
	char *list = strdup(arg);
	int rc = 0;
	for (char *t = strtok(list, ","); t && rc == 0; t = strtok(NULL, ",")) {
		int m = -1;
		for (int i = 0; i < NMODES; i++)
			if (strcmp(t, mode_csv[i]) == 0)
				m = i;
		if (strcmp(t, "kernel") == 0)
			on[M_KCOPY] = on[M_KMSGZC] = on[M_KZCRX] = on[M_KBOTH] = true;
		else if (m >= 0)
			on[m] = true;
		else
			rc = -1;
	}
	free(list);
	return rc;
}


/* The command line into o: -1 to go on, or the exit status (--help: 0). */
static int parse_args(int argc, char **argv, struct opts *o)
{
	*o = (struct opts){ .rounds = 5, .policy = -1, .scale = 1.0, .sizes_arg = "4K,16K,64K,256K,1M,2M,4M",
			    .modes_arg = "never,auto,always,kernel", .vbytes = 1024 * MiB, .vsize = 1 * MiB };
	static const struct option lo[] = {
		{ "rounds", required_argument, 0, 'r' }, { "sizes", required_argument, 0, 's' },
		{ "scale", required_argument, 0, 'x' },  { "csv", required_argument, 0, 'c' },
		{ "verify", no_argument, 0, 'v' },       { "policy", required_argument, 0, 'p' },
		{ "bytes", required_argument, 0, 'b' },  { "size", required_argument, 0, 'z' },
		{ "modes", required_argument, 0, 'm' }, { "no-pin", no_argument, 0, 'n' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	for (int c; (c = getopt_long(argc, argv, "", lo, NULL)) != -1;) {
		switch (c) {
		case 'r': o->rounds = atoi(optarg); break;
		case 's': o->sizes_arg = optarg; break;
		case 'm': o->modes_arg = optarg; break;
		case 'n': pin_cpus = 0; break;
		case 'x': o->scale = atof(optarg); break;
		case 'c': o->csv = optarg; break;
		case 'v': o->verify = true; break;
		case 'p': o->policy = zc_zcopy_parse(optarg); break;
		case 'b': if (parse_size(optarg, &o->vbytes)) { usage(); return 2; } break;
		case 'z': if (parse_size(optarg, &o->vsize)) { usage(); return 2; } break;
		case 'h': usage(); return 0;
		default: usage(); return 2;
		}
	}
	if (o->rounds < 1 || o->rounds > MAX_ROUNDS || o->scale <= 0 || (o->verify && o->policy < 0) ||
	    o->vsize > MAX_IO || o->vsize % 8) {
		usage();
		return 2;
	}
	return -1;
}

/* --sizes into w->sizes; -1 (said) for a bad one. */
static int parse_sizes(const char *arg, struct sweep *w)
{
	char *list = strdup(arg);
	for (char *t = strtok(list, ","); t; t = strtok(NULL, ",")) {
		uint64_t *s = &w->sizes[w->nsizes];
		if (w->nsizes == MAX_SIZES || parse_size(t, s) || *s > MAX_IO || *s % 8) {
			fprintf(stderr, "zc_bench: size '%s': 8 B to 4 MiB, a multiple of 8\n", t);
			return -1;
		}
		w->nsizes++;
	}
	free(list);
	return 0;
}

/* --- the sweep ------------------------------------------------------------------------------- */

/* The kernel's two processes, when a kernel mode is on; a zero-copy mode
 * the kernel refuses is turned off, and said. */
static void kernel_start(bool on[NMODES], struct kpair *kp)
{
	if (!(on[M_KCOPY] || on[M_KMSGZC] || on[M_KZCRX] || on[M_KBOTH]))
		return;
	*kp = kpair_start();
	if ((on[M_KMSGZC] || on[M_KBOTH]) && kp->msgzc_err) {
		printf("kernel MSG_ZEROCOPY: not measured, SO_ZEROCOPY: %s\n", strerror(kp->msgzc_err));
		on[M_KMSGZC] = on[M_KBOTH] = false;
	}
	if ((on[M_KZCRX] || on[M_KBOTH]) && kp->zcrx_err) {
		printf("kernel TCP_ZEROCOPY_RECEIVE: not measured: %s\n", strerror(kp->zcrx_err));
		on[M_KZCRX] = on[M_KBOTH] = false;
	}
}

/* The bytes of one cell of writes of s: a whole number of MAX_IO
 * (cells keep the stream aligned), at least one. */
static uint64_t cell_bytes(uint64_t s, double scale)
{
	uint64_t bytes = s >= 1 * MiB ? CELL_BYTES_LARGE : s >= 64 * KiB ? CELL_BYTES_MID : CELL_BYTES_SMALL;
	bytes = (uint64_t)((double)bytes * scale);
	bytes = (bytes + MAX_IO - 1) / MAX_IO * MAX_IO;
	if (bytes < MAX_IO)
		bytes = MAX_IO;
	return bytes;
}

/* Every round of size si: the socket layer's policies alternate round by
 * round, then the kernel's modes do. Switching sides within a round put
 * the scheduler's placement of one side's processes into the other's
 * cells (auto measured 0.89-1.21x never with the kernel's cells between,
 * where without them it is 0.98-1.01x). */
static void sweep_size(struct sweep *w, struct rx *x, struct kpair *kp, int si, uint64_t bytes)
{
	uint64_t s = w->sizes[si];
	for (int side = 0; side < 2; side++)
		for (int r = -1; r < w->rounds; r++)
			for (int i = 0; i < w->nm; i++) {
				int m = w->modes[i];
				if ((m >= M_KCOPY) != side)
					continue;
				/* round -1: half a cell of the side's first mode, not
				 * counted, so that the processes are placed and warm */
				struct cell warm, *c = r < 0 ? &warm : sweep_cell(w, si, m, r);
				uint64_t b = r < 0 ? bytes / 2 / MAX_IO * MAX_IO + MAX_IO : bytes;
				if (m >= M_KCOPY)
					run_kcell(kp, m, s, b, c);
				else
					run_cell(x, m, s, b, false, c);
				if (r < 0)
					break;
				if (getenv("ZC_BENCH_DUMP"))
					printf("cell %llu %s round %d: %.2f GB/s traded %.2f cow %.2f\n",
					       (unsigned long long)s, mode_csv[m], r, c->gbps, c->traded, c->cow);
			}
}

/* Part 2: for each size, R rounds of every mode on, back to back. */
static void sweep(struct sweep *w, struct rx *x, struct kpair *kp, double scale)
{
	for (int m = 0; m < NMODES; m++)
		if (w->on[m])
			w->modes[w->nm++] = m;
	w->all = calloc((size_t)w->nsizes * NMODES * (size_t)w->rounds, sizeof(*w->all));
	for (int si = 0; si < w->nsizes; si++)
		sweep_size(w, x, kp, si, cell_bytes(w->sizes[si], scale));
}

/* The medians of every round, in place in round 0 of each mode. */
static void medians(struct sweep *w)
{
	enum { NMEAS = 8 }; /* the measures that get medians */
	int rounds = w->rounds;
	for (int si = 0; si < w->nsizes; si++)
		for (int i = 0; i < w->nm; i++) {
			struct cell *c = sweep_cell(w, si, w->modes[i], 0);
			double v[NMEAS][MAX_ROUNDS];
			for (int r = 0; r < rounds; r++) {
				double row[NMEAS] = { c[r].gbps, c[r].cpu_s_per_gib, c[r].rx_cpu, c[r].tx_cpu,
						      c[r].deliver_ms_per_gib, c[r].copied_per_byte, c[r].traded, c[r].cow };
				for (int k = 0; k < NMEAS; k++)
					v[k][r] = row[k];
			}
			c->gbps = med(v[0], rounds), c->cpu_s_per_gib = med(v[1], rounds), c->rx_cpu = med(v[2], rounds);
			c->tx_cpu = med(v[3], rounds), c->deliver_ms_per_gib = med(v[4], rounds);
			c->copied_per_byte = med(v[5], rounds), c->traded = med(v[6], rounds), c->cow = med(v[7], rounds);
		}
}

/* --verify: one cell under one policy, the hashes compared; the exit status. */
static int verify(struct rx *x, const struct opts *o, pid_t child, const char *wire)
{
	struct cell c;
	int rc = run_cell(x, o->policy, o->vsize, o->vbytes, true, &c);
	printf("policy %s: %.0f MiB in %llu KiB writes and reads, %.2f GB/s, traded %.0f%%, by COW %.0f%%, "
	       "host bytes copied per byte %.3f, deferred copies %llu: %s\n",
	       zc_zcopy_name(o->policy), (double)o->vbytes / MiB, (unsigned long long)(o->vsize / KiB), c.gbps,
	       c.traded * 100, c.cow * 100, c.copied_per_byte, (unsigned long long)c.deferred,
	       rc ? "MISMATCH" : "equal");
	rx_quit(x);
	waitpid(child, NULL, 0);
	if (getenv("ZC_BENCH_DUMP"))
		zc_sockctx_dump(x->cx, stdout);
	zc_sockctx_close(x->cx);
	zc_trapeze_unlink(wire);
	return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct opts o;
	int st = parse_args(argc, argv, &o);
	if (st >= 0)
		return st;
	struct sweep w = { .rounds = o.rounds };
	if (parse_sizes(o.sizes_arg, &w) != 0)
		return 2;
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		pin_cpus = 0;
	if (parse_modes(o.modes_arg, w.on) != 0) {
		fprintf(stderr, "zc_bench: --modes '%s': names are never, auto, always, kernel-copy, "
				"kernel-msg_zerocopy, kernel-zerocopy_receive, kernel-both, kernel\n", o.modes_arg);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	struct kpair kp = { .rxc = -1, .txc = -1 };
	if (!o.verify)
		kernel_start(w.on, &kp);
	char wire[32];
	snprintf(wire, sizeof(wire), "zb%d", (int)getpid());
	zc_trapeze_unlink(wire);
	fflush(stdout);
	pid_t child = fork();
	if (child < 0)
		die("fork");
	if (child == 0) {
		if (kp.rxc >= 0)
			close(kp.rxc), close(kp.txc);
		_exit(sender(wire));
	}
	pin(0);
	struct rx x = rx_open(wire);
	if (o.verify)
		return verify(&x, &o, child, wire);
	remap_report(x.cx);
	sweep(&w, &x, &kp, o.scale);
	rx_quit(&x);
	waitpid(child, NULL, 0);
	if (kp.rxc >= 0)
		kpair_stop(&kp);
	if (getenv("ZC_BENCH_DUMP"))
		zc_sockctx_dump(x.cx, stdout);
	medians(&w);
	report(&w, o.csv);
	free(w.all);
	zc_sockctx_close(x.cx);
	zc_trapeze_unlink(wire);
	return 0;
}

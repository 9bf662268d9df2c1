/*
 * zc_bench.h - private to bench/zc_bench*.c: the modes a cell measures,
 * the commands and results that travel between the benchmark's processes,
 * one cell's measures, and the functions each part gives the others.
 *
 *   zc_bench.c         options, the sweep driver, medians, --verify
 *   zc_bench_common.c  clocks, CPU pinning, buffers, the stream pattern
 *   zc_bench_sock.c    the socket layer's cells (two processes, Trapeze wire)
 *   zc_bench_kernel.c  the kernel's cells (plain, MSG_ZEROCOPY, TCP_ZEROCOPY_RECEIVE)
 *   zc_bench_remap.c   part 1: what a remap costs against a copy
 *   zc_bench_out.c     the table, the CSV and the gnuplot plot
 */
#ifndef ZC_BENCH_H
#define ZC_BENCH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct zc_sockctx;

#define MiB (1ull << 20)
#define KiB (1ull << 10)
#define MAX_SIZES 16    /* read/write sizes in one --sizes list */
#define MAX_ROUNDS 99   /* --rounds */
#define MAX_IO (4 * MiB) /* the largest read/write: every cell's buffers are this long */
#define PORT_CTL 5001
#define PORT_DATA 5002
#define RX_IP "10.8.0.1"

enum { OP_CELL = 1, OP_QUIT = 2 };

/* What a cell measures: the three zero-copy policies of the socket layer
 * (ZC_ZCOPY_NEVER, _AUTO, _ALWAYS: 0..2), then the Linux kernel over
 * loopback, plain and with its two zero-copy interfaces. */
enum { M_KCOPY = 3, M_KMSGZC, M_KZCRX, M_KBOTH, NMODES };
extern const char *const mode_name[NMODES];
extern const char *const mode_csv[NMODES];
static inline bool mode_msgzc(int m) { return m == M_KMSGZC || m == M_KBOTH; }
static inline bool mode_zcrx(int m) { return m == M_KZCRX || m == M_KBOTH; }

/* The receiver's command to a sender (socket layer) or to both kernel
 * processes: one cell (policy is the mode), or quit. */
struct cmd {
	uint32_t op, policy;
	uint64_t size, bytes;
	uint32_t verify;
};

/* One cell's measures (policy is the mode). */
struct cell {
	uint64_t size;
	int policy;
	double gbps, cpu_s_per_gib, copied_per_byte, dma_per_byte, traded, cow, rx_cpu, tx_cpu;
	double deliver_ms_per_gib; /* receiver: time copying out or remapping, per GiB */
	uint64_t deferred;
};

/* --- zc_bench_common.c --- */
uint64_t now_ns(void);
uint64_t cpu_ns(void);
void die(const char *what);
extern int pin_cpus;
void pin(int cpu);
uint8_t *abuf(size_t n);
uint64_t pat_word(uint64_t i);
void pat_fill(uint8_t *p, uint64_t off, size_t n);
double med(double *v, int n);
void cell_rate(struct cell *out, uint64_t size, int mode, uint64_t bytes, uint64_t wall_ns, uint64_t rx_cpu_ns,
	       uint64_t tx_cpu_ns);

/* --- zc_bench_sock.c: the receiver (this process) and a forked sender --- */
struct rx {
	struct zc_sockctx *cx;
	int ctl, data;
	uint8_t *buf;
};
int sender(const char *wire);
struct rx rx_open(const char *wire);
int run_cell(struct rx *x, int policy, uint64_t size, uint64_t bytes, bool verify, struct cell *out);
void rx_quit(struct rx *x);

/* --- zc_bench_kernel.c: two processes of their own over loopback --- */
struct kpair {
	pid_t rx, tx;
	int rxc, txc;            /* control sockets */
	int msgzc_err, zcrx_err; /* 0, or why that zero-copy mode cannot run */
};
struct kpair kpair_start(void);
void kpair_stop(struct kpair *k);
void run_kcell(struct kpair *k, int mode, uint64_t size, uint64_t bytes, struct cell *out);

/* --- zc_bench_remap.c --- */
void remap_report(struct zc_sockctx *cx);

/* --- zc_bench.c and zc_bench_out.c: the sweep's cells --- */
struct sweep {
	uint64_t sizes[MAX_SIZES];
	int nsizes, rounds;
	bool on[NMODES];
	int modes[NMODES], nm; /* the modes on, in order */
	struct cell *all;      /* [size][mode][round]; medians in round 0 */
};
static inline struct cell *sweep_cell(const struct sweep *w, int si, int m, int r)
{
	return &w->all[((size_t)si * NMODES + (size_t)m) * (size_t)w->rounds + (size_t)r];
}
void report(const struct sweep *w, const char *csv);

#endif

/*
 * zc_bench_common.c - what every part of zc_bench uses: the clocks, the
 * CPU each process runs on, 2 MiB-aligned buffers, the stream pattern the
 * senders write and the receivers check, medians, and a cell's throughput
 * and CPU time per GiB.
 */
#include "zc_bench.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>

const char *const mode_name[NMODES] = { "never", "auto", "always", "kernel", "kernel MSG_ZEROCOPY",
					"kernel ZC receive", "kernel MSG_ZEROCOPY + ZC receive" };
const char *const mode_csv[NMODES] = { "never", "auto", "always", "kernel-copy", "kernel-msg_zerocopy",
				       "kernel-zerocopy_receive", "kernel-both" };

uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t cpu_ns(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000u +
	       ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000u;
}

void die(const char *what)
{
	fprintf(stderr, "zc_bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Receivers run on CPU 0 and senders on CPU 1 (with their threads), as
 * netperf -T does, unless --no-pin or there is one CPU: left to the
 * scheduler, both sides here swung between two speeds from round to round
 * (3.5 or 8.6 GB/s at 4 MiB), by where it put the four threads. */
int pin_cpus = 1;

void pin(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (pin_cpus && sched_setaffinity(0, sizeof(set), &set) != 0)
		fprintf(stderr, "zc_bench: cannot run on CPU %d: %s\n", cpu, strerror(errno));
}

/* A 2 MiB-aligned anonymous buffer. */
uint8_t *abuf(size_t n)
{
	size_t raw = n + 2 * MiB;
	uint8_t *p = mmap(NULL, raw, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		die("mmap");
	uint8_t *a = (uint8_t *)(((uintptr_t)p + 2 * MiB - 1) & ~(uintptr_t)(2 * MiB - 1));
	memset(a, 0, n);
	return a;
}

/* Word i of the stream: splitmix64's finalizer (Steele, Lea and Flood,
 * 2014; its golden-ratio increment and multipliers), so that every word
 * differs and a misplaced page shows. */
uint64_t pat_word(uint64_t i)
{
	uint64_t z = i + 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* bytes [off, off+n) of the stream; off and n multiples of 8 */
void pat_fill(uint8_t *p, uint64_t off, size_t n)
{
	uint64_t *w = (uint64_t *)p;
	for (size_t i = 0; i < n / 8; i++)
		w[i] = pat_word(off / 8 + i);
}

/* The median of v[0..n), sorted in place. */
double med(double *v, int n)
{
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && v[j] < v[j - 1]; j--) {
			double t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return v[n / 2];
}

/* A cell's throughput and CPU time per GiB (the rest is cleared). */
void cell_rate(struct cell *out, uint64_t size, int mode, uint64_t bytes, uint64_t wall_ns,
	       uint64_t rx_cpu_ns, uint64_t tx_cpu_ns)
{
	double gib = (double)bytes / (double)(1ull << 30);
	*out = (struct cell){ .size = size, .policy = mode };
	out->gbps = (double)bytes / (double)wall_ns;
	out->rx_cpu = (double)rx_cpu_ns / 1e9 / gib;
	out->tx_cpu = (double)tx_cpu_ns / 1e9 / gib;
	out->cpu_s_per_gib = out->rx_cpu + out->tx_cpu;
}

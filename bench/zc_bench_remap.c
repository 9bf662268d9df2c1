/*
 * zc_bench_remap.c - part 1 of zc_bench: what the socket layer's policy
 * decides from. Remapping k bytes of a pool-like file over a buffer (4 KiB
 * pages, and 2 MiB transparent huge pages) against copying them, for k
 * from 4 KiB to 4 MiB; the crossover; and the decision the stack itself
 * took at start-up (zc_sockctx_costs).
 */
#include "zc_bench.h"
#include "sockapi/socket.h"

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define SAMPLES 9              /* timings per figure; the median is reported */
#define FILE_BYTES (2 * MAX_IO) /* two ranges of the largest size: a trade alternates them */

/* One row of the table: median microseconds; -1 where not measured. */
struct rc { uint64_t size; double copy_us, remap4k_us, remap2m_us; };

static const uint64_t sizes[] = { 4 * KiB, 16 * KiB, 64 * KiB, 256 * KiB, 1 * MiB, 2 * MiB, 4 * MiB };
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

/* Median time to map `size` bytes of fd (pages already in the file) over
 * an aligned buffer, alternating two file ranges, as a trade does. */
static double remap_us(int fd, uint64_t size, uint8_t *dst)
{
	double t[SAMPLES];
	for (int i = 0; i < SAMPLES; i++) {
		uint64_t t0 = now_ns();
		void *m = mmap(dst, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED | MAP_POPULATE, fd,
			       (off_t)((i & 1) ? MAX_IO : 0));
		t[i] = (double)(now_ns() - t0) / 1000.0;
		if (m == MAP_FAILED)
			return -1;
	}
	return med(t, SAMPLES);
}

/* Every row of the table into out[NSIZES]. */
static void part1(struct rc *out)
{
	int f4 = memfd_create("zcb4k", MFD_CLOEXEC), f2 = memfd_create("zcb2m", MFD_CLOEXEC);
	if (f4 < 0 || f2 < 0 || ftruncate(f4, FILE_BYTES) || ftruncate(f2, FILE_BYTES))
		die("memfd");
	/* the huge file: touched through a MADV_HUGEPAGE mapping, as the pool does */
	uint8_t *h = mmap(NULL, FILE_BYTES + 2 * MiB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t *ha = (uint8_t *)(((uintptr_t)h + 2 * MiB - 1) & ~(uintptr_t)(2 * MiB - 1));
	mmap(ha, FILE_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, f2, 0);
	madvise(ha, FILE_BYTES, MADV_HUGEPAGE);
	memset(ha, 1, FILE_BYTES);
	uint8_t *p4 = mmap(NULL, FILE_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, f4, 0);
	memset(p4, 1, FILE_BYTES);
	uint8_t *src = abuf(MAX_IO), *dst = abuf(MAX_IO), *dm = abuf(MAX_IO);
	memset(src, 7, MAX_IO);
	for (size_t i = 0; i < NSIZES; i++) {
		uint64_t s = sizes[i];
		double t[SAMPLES];
		for (int k = 0; k < SAMPLES; k++) {
			uint64_t t0 = now_ns();
			memcpy(dst, src, s);
			t[k] = (double)(now_ns() - t0) / 1000.0;
		}
		out[i].size = s;
		out[i].copy_us = med(t, SAMPLES);
		out[i].remap4k_us = remap_us(f4, s, dm);
		out[i].remap2m_us = s >= 2 * MiB ? remap_us(f2, s, dm) : -1;
	}
	close(f4);
	close(f2);
}

/* Part 1 measured and printed: the table, the crossover, the start-up decision. */
void remap_report(struct zc_sockctx *cx)
{
	struct rc r[NSIZES];
	part1(r);
	struct zc_zcopy_costs costs[2];
	zc_sockctx_costs(cx, costs);
	printf("\n## What a trade costs here (median us): copy vs remap of k bytes of a pool file\n\n");
	printf("| bytes | memcpy | remap, 4 KiB pages | remap, 2 MiB pages |\n|---|---|---|---|\n");
	uint64_t cross4 = 0, cross2 = 0;
	for (size_t i = 0; i < NSIZES; i++) {
		printf("| %llu KiB | %.1f | %.1f | ", (unsigned long long)(r[i].size / KiB), r[i].copy_us,
		       r[i].remap4k_us);
		if (r[i].remap2m_us >= 0)
			printf("%.1f |\n", r[i].remap2m_us);
		else
			printf("- |\n");
		if (!cross4 && r[i].remap4k_us >= 0 && r[i].remap4k_us < r[i].copy_us)
			cross4 = r[i].size;
		if (!cross2 && r[i].remap2m_us >= 0 && r[i].remap2m_us < r[i].copy_us)
			cross2 = r[i].size;
	}
	printf("\ncrossover: 4 KiB pages: %s; 2 MiB pages: %s\n",
	       cross4 ? "remap is cheaper from here" : "remap never cheaper up to 4 MiB",
	       cross2 ? "remap cheaper at 2 MiB and above" : "remap not cheaper");
	printf("start-up decision of the stack: 4 KiB frame copy %llu ns, remap %llu ns -> %s; "
	       "2 MiB frame copy %llu ns, remap %llu ns -> %s\n",
	       (unsigned long long)costs[0].copy_ns, (unsigned long long)costs[0].remap_ns,
	       costs[0].trade ? "trade" : "copy", (unsigned long long)costs[1].copy_ns,
	       (unsigned long long)costs[1].remap_ns,
	       costs[1].frame_size ? (costs[1].trade ? "trade" : "copy") : "no 2 MiB frames");
}

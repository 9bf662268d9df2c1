/*
 * zc_bench_out.c - part 2's results, from the medians in round 0 of each
 * cell: the table (with each mode against never and against the kernel's
 * plain loopback), the CSV (--csv FILE), the worst of auto against never,
 * the best of each side size by size, and the plot beside the CSV
 * (FILE.png, when gnuplot is installed).
 */
#include "zc_bench.h"
#include "sockapi/socket.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char csv_header[] = "size,policy,gbps,cpu_s_per_gib,rx_cpu_s_per_gib,tx_cpu_s_per_gib,"
				 "deliver_ms_per_gib,copied_per_byte,dma_per_byte,traded_share,cow_share,"
				 "deferred_copies\n";

/* One row of the table; rel and relk: against never and the kernel, or "-". */
static void table_row(const char *sz, int m, const struct cell *c, double gnever, double gkernel)
{
	char rel[16] = "-", relk[16] = "-", dl[16] = "-";
	if (gnever > 0)
		snprintf(rel, sizeof(rel), "%.2fx", c->gbps / gnever);
	if (gkernel > 0)
		snprintf(relk, sizeof(relk), "%.2fx", c->gbps / gkernel);
	if (c->deliver_ms_per_gib >= 0)
		snprintf(dl, sizeof(dl), "%.1f", c->deliver_ms_per_gib);
	printf("| %s | %s | %.2f | %s | %s | %.3f (%.3f+%.3f) | %s | %.3f | %.0f%% | %.0f%% |\n", sz,
	       mode_name[m], c->gbps, rel, relk, c->cpu_s_per_gib, c->rx_cpu, c->tx_cpu, dl,
	       c->copied_per_byte, c->traded * 100, c->cow * 100);
}

/* One row of the CSV; the delivery time is empty where not measured apart. */
static void csv_row(FILE *f, uint64_t size, int m, const struct cell *c)
{
	fprintf(f, "%llu,%s,%.4f,%.4f,%.4f,%.4f,", (unsigned long long)size, mode_csv[m],
		c->gbps, c->cpu_s_per_gib, c->rx_cpu, c->tx_cpu);
	if (c->deliver_ms_per_gib >= 0)
		fprintf(f, "%.2f", c->deliver_ms_per_gib);
	fprintf(f, ",%.4f,%.4f,%.4f,%.4f,%llu\n", c->copied_per_byte, c->dma_per_byte, c->traded,
		c->cow, (unsigned long long)c->deferred);
}

/* The best of zcstack against the best of the kernel, size by size. */
static void best_of(const struct sweep *w)
{
	printf("best of zcstack against the best of the kernel:");
	for (int si = 0; si < w->nsizes; si++) {
		int bs = -1, bk = -1;
		for (int i = 0; i < w->nm; i++) {
			int m = w->modes[i];
			int *b = m >= M_KCOPY ? &bk : &bs;
			if (*b < 0 || sweep_cell(w, si, m, 0)->gbps > sweep_cell(w, si, *b, 0)->gbps)
				*b = m;
		}
		printf("%s %llu KiB %.2fx (%s / %s)", si ? "," : "", (unsigned long long)(w->sizes[si] / KiB),
		       sweep_cell(w, si, bs, 0)->gbps / sweep_cell(w, si, bk, 0)->gbps, mode_name[bs], mode_name[bk]);
	}
	printf("\n");
}

/* The sweep as a plot beside the CSV (FILE.csv -> FILE.png), when gnuplot
 * is installed: throughput and CPU per GiB against the write size. */
static void plot(const char *csv, const struct sweep *w)
{
	if (system("command -v gnuplot >/dev/null 2>&1") != 0)
		return;
	char png[512];
	size_t n = strlen(csv);
	if (n >= 4 && strcmp(csv + n - 4, ".csv") == 0)
		n -= 4;
	if (n + 5 > sizeof(png))
		return;
	memcpy(png, csv, n);
	strcpy(png + n, ".png");
	FILE *g = popen("gnuplot", "w");
	if (g == NULL)
		return;
	for (int i = 0; i < w->nm; i++) {
		fprintf(g, "$m%d << EOD\n", i);
		for (int si = 0; si < w->nsizes; si++) {
			const struct cell *c = sweep_cell(w, si, w->modes[i], 0);
			fprintf(g, "%.3f %.4f %.4f\n", (double)w->sizes[si] / KiB, c->gbps, c->cpu_s_per_gib);
		}
		fprintf(g, "EOD\n");
	}
	fprintf(g, "set terminal pngcairo size 1000,440 font ',10' noenhanced\nset output '%s'\n"
		   "set multiplot layout 1,2 title 'zcstack (Trapeze wire, socket layer) and the Linux kernel "
		   "(loopback), two processes, medians of %d rounds'\n"
		   "set logscale x 2\nset xlabel 'write and read size (KiB)'\nset grid\n"
		   "set key top left font ',9'\n",
		   png, w->rounds);
	for (int panel = 0; panel < 2; panel++) {
		fprintf(g, "set title '%s'\n%s\nplot ",
			panel ? "CPU s per GiB, both processes (lower is better)" : "GB/s (higher is better)",
			panel ? "set logscale y 2\nset yrange [*:*]\nset offsets 0,0,0,0\nunset key"
			      : "set yrange [0:*]\nset offsets 0,0,graph 0.55,0");
		for (int i = 0; i < w->nm; i++)
			fprintf(g, "%s$m%d using 1:%d with linespoints lw 2 %s title '%s'", i ? ", " : "", i, panel ? 3 : 2,
				w->modes[i] >= M_KCOPY ? "dt 2" : "dt 1", mode_name[w->modes[i]]);
		fprintf(g, "\n");
	}
	fprintf(g, "unset multiplot\n");
	if (pclose(g) == 0)
		printf("plot: %s\n", png);
}

void report(const struct sweep *w, const char *csv)
{
	const bool *on = w->on;
	printf("\n## Trapeze wire through the socket layer beside the Linux kernel's loopback: "
	       "medians of %d rounds\n\n", w->rounds);
	printf("| size | mode | GB/s | vs never | vs kernel | CPU s/GiB (rx+tx) | read delivery ms/GiB | "
	       "host bytes copied per byte | received without copy | sent without copy |\n"
	       "|---|---|---|---|---|---|---|---|---|---|\n");
	FILE *f = csv ? fopen(csv, "w") : NULL;
	if (f)
		fputs(csv_header, f);
	double worst_auto = on[0] && on[1] ? 0 : -1;
	for (int si = 0; si < w->nsizes; si++) {
		double gnever = on[0] ? sweep_cell(w, si, 0, 0)->gbps : 0;
		double gkernel = on[M_KCOPY] ? sweep_cell(w, si, M_KCOPY, 0)->gbps : 0;
		uint64_t size = w->sizes[si];
		char sz[32];
		if (size >= MiB)
			snprintf(sz, sizeof(sz), "%llu MiB", (unsigned long long)(size / MiB));
		else
			snprintf(sz, sizeof(sz), "%llu KiB", (unsigned long long)(size / KiB));
		for (int i = 0; i < w->nm; i++) {
			int m = w->modes[i];
			const struct cell *c = sweep_cell(w, si, m, 0);
			if (m == ZC_ZCOPY_AUTO && worst_auto >= 0 && 1 - c->gbps / gnever > worst_auto)
				worst_auto = 1 - c->gbps / gnever;
			table_row(sz, m, c, gnever, gkernel);
			if (f)
				csv_row(f, size, m, c);
		}
	}
	printf("\n\"received without copy\": traded pages (socket layer) or pages TCP_ZEROCOPY_RECEIVE mapped;\n"
	       "\"sent without copy\": sent by copy-on-write reference (socket layer) or MSG_ZEROCOPY sends\n"
	       "whose completion did not say COPIED. Host bytes copied: the socket layer's counters; the\n"
	       "kernel's from recv, plain sends and COPIED completions (its DMA is none: loopback).\n");
	if (worst_auto >= 0)
		printf("\nauto at worst %.1f%% slower than never (target: 5%%)\n", worst_auto * 100);
	bool sany = on[0] || on[1] || on[2];
	bool kany = on[M_KCOPY] || on[M_KMSGZC] || on[M_KZCRX] || on[M_KBOTH];
	if (kany && sany)
		best_of(w);
	if (f) {
		fclose(f);
		printf("CSV written to %s\n", csv);
		plot(csv, w);
	}
}

/*
 * faults.h - a middleware that injects seeded faults into any netif:
 * loss, duplication, reordering, one-bit corruption and delay, on transmit,
 * receive or both. The same seed gives the same faults for the same traffic.
 *
 * Configuration string (also the value of ZCS_FAULTS):
 *   "loss=0.01,dup=0.005,reorder=0.01,corrupt=0.001,delay=50ms,seed=42,dir=tx"
 * Probabilities are per packet in [0, 1]; delay takes ns, us, ms or s.
 */
#ifndef ZC_FAULTS_H
#define ZC_FAULTS_H

#include "stack/netif.h"

#include <stdint.h>

enum zc_fault_dir { ZC_FAULT_TX = 1, ZC_FAULT_RX = 2, ZC_FAULT_BOTH = 3 };

struct zc_fault_config {
	double loss, dup, reorder, corrupt;
	uint64_t delay_ns;
	uint64_t reorder_hold_ns; /* a held packet goes out alone after this (0 = 1 ms) */
	uint64_t seed;
	enum zc_fault_dir dir;    /* 0 = tx */
};

struct zc_fault_stats {
	uint64_t seen;       /* packets that entered the fault layer */
	uint64_t dropped;
	uint64_t duplicated; /* extra copies made */
	uint64_t reordered;  /* packets sent after one that came in later */
	uint64_t corrupted;  /* packets (copies included) with one bit flipped */
	uint64_t delayed;
};

/* Parse "50ms", "20us", "1.5s", "1000ns" or bare nanoseconds; 0 or -EINVAL. */
int zc_parse_duration(const char *v, uint64_t *out);
/* Parse a configuration string; 0, or -EINVAL with a message naming the bad part. */
int zc_faults_parse(const char *s, struct zc_fault_config *cfg);
/* Wrap lower; on success the new netif owns lower. NULL (errno) on failure,
 * lower untouched. */
struct zc_netif *zc_faults_wrap(struct zc_netif *lower, const struct zc_fault_config *cfg);
/* Counters of one direction (ZC_FAULT_TX or ZC_FAULT_RX). */
void zc_faults_get_stats(struct zc_netif *nif, enum zc_fault_dir dir, struct zc_fault_stats *st);

#endif

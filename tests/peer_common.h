/*
 * peer_common.h - what the one-stack test programs (stack_peer, tcp_peer)
 * share: the clock, and a stack opened from command-line strings.
 */
#ifndef ZC_TEST_PEER_COMMON_H
#define ZC_TEST_PEER_COMMON_H

#include "nic/open.h"
#include "stack/log.h"
#include "stack/stack.h"

#include <stdio.h>
#include <time.h>

static inline uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ZCS_LOG, line-buffered stdout, the NIC from its device string and a stack
 * on it with address ip ("a.b.c.d/len", /24 by default) and gateway gw (or
 * NULL). cfg carries the rest (seed, icmp_rate); its nif is set. NULL after
 * a message when anything is wrong. */
static inline struct zc_stack *peer_open(const char *prog, const char *nic, const char *ip, const char *gw,
					 struct zc_stack_config *cfg)
{
	if (zc_log_init_env())
		return NULL;
	setvbuf(stdout, NULL, _IOLBF, 0);
	cfg->now = now_ns();
	if (zc_parse_ipv4(ip, &cfg->ip, &cfg->prefix_len, 24) || (gw && zc_parse_ipv4(gw, &cfg->gateway, NULL, 0))) {
		fprintf(stderr, "%s: bad address in --ip or --gw\n", prog);
		return NULL;
	}
	cfg->nif = zc_nic_open(nic);
	if (cfg->nif == NULL)
		return NULL;
	struct zc_stack *st = zc_stack_create(cfg);
	if (st == NULL)
		zc_netif_close(cfg->nif);
	return st;
}

#endif

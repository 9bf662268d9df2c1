/* fuzz_config.c - libFuzzer harness 5: the configuration strings a user
 * types: the --nic / ZCS_NIC device strings (trapeze: and dpdk: options,
 * parsed only: nothing is opened, no wire, no EAL), ZCS_FAULTS, the durations and rates
 * inside them, ZCS_ZC, ZCS_LOG and ZCS_IP addresses.
 *
 * Input: byte 0 picks the parser, the rest is the string (cut at its
 * first NUL, handed over in a buffer of exactly its size so that ASan sees
 * a read past its end). Each parser must return success or a clean error;
 * on success what it filled in must be within the bounds it promises. */
#include "fuzz_fail.h"
#include "nic/dpdk.h"
#include "nic/faults.h"
#include "nic/open.h"
#include "nic/trapeze.h"
#include "sockapi/socket.h"
#include "stack/log.h"
#include "stack/stack.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void prob(const char *what, double p)
{
	if (!(p >= 0.0 && p <= 1.0))
		fuzz_fail("faults: %s %g outside [0, 1]", what, p);
}

static void one(unsigned kind, char *s, size_t n)
{
	uint64_t u = 0;
	switch (kind) {
	case 0: {
		struct zc_fault_config c;
		if (zc_faults_parse(s, &c) == 0) {
			prob("loss", c.loss);
			prob("dup", c.dup);
			prob("reorder", c.reorder);
			prob("corrupt", c.corrupt);
			if (c.delay_ns > 3600000000000ull || c.reorder_hold_ns > 3600000000000ull)
				fuzz_fail("faults: delay %lu hold %lu past an hour", (unsigned long)c.delay_ns,
				     (unsigned long)c.reorder_hold_ns);
			if (c.dir != ZC_FAULT_TX && c.dir != ZC_FAULT_RX && c.dir != ZC_FAULT_BOTH)
				fuzz_fail("faults: direction %d", (int)c.dir);
		}
		break;
	}
	case 1:
		if (zc_parse_duration(s, &u) == 0 && u > 3600000000000ull)
			fuzz_fail("duration %lu ns past an hour", (unsigned long)u);
		break;
	case 2:
		if (zc_parse_rate(s, &u) == 0 && (u == 0 || u > 10000000000000ull))
			fuzz_fail("rate %lu bit/s", (unsigned long)u);
		break;
	case 3: {
		int p = zc_zcopy_parse(s);
		if (p != -EINVAL && p != ZC_ZCOPY_NEVER && p != ZC_ZCOPY_AUTO && p != ZC_ZCOPY_ALWAYS)
			fuzz_fail("policy %d", p);
		break;
	}
	case 4:
		zc_log_parse_level(s);
		break;
	case 5: {
		uint32_t ip;
		uint8_t plen = 99;
		if (zc_parse_ipv4(s, &ip, &plen, 24) == 0 && plen > 32)
			fuzz_fail("prefix /%u", plen);
		break;
	}
	case 6: {
		struct zc_trapeze_config c;
		if (zc_trapeze_parse_spec(s, &c) == 0) {
			if (c.name == NULL || c.name < s || c.name > s + n)
				fuzz_fail("trapeze: the name is not in the string");
			if (c.port > 1 || c.rx_huge > 4096)
				fuzz_fail("trapeze: port %d rxhuge %u", c.port, c.rx_huge);
		}
		break;
	}
	default: {
		struct zc_dpdk_config c;
		char dev[256];
		uint8_t mac[6];
		if (zc_dpdk_parse_spec(s, &c, dev, mac) == 0) {
			if (c.devargs != dev || strlen(dev) > n)
				fuzz_fail("dpdk: device arguments '%s' from '%s'", dev, s);
			if (strstr(dev, "zc_") == dev || strstr(dev, ",zc_") != NULL)
				fuzz_fail("dpdk: our key left for DPDK in '%s'", dev);
			if (c.mac && c.mac != mac)
				fuzz_fail("dpdk: the MAC is not ours");
		}
		break;
	}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return -1;
	static int quiet;
	if (!quiet) {
		zc_log_set_level(ZC_LOG_QUIET);
		quiet = 1;
	}
	const uint8_t *end = memchr(data + 1, 0, size - 1);
	size_t n = end ? (size_t)(end - data - 1) : size - 1;
	char *s = malloc(n + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data + 1, n);
	s[n] = '\0';
	one(data[0] % 8u, s, n);
	free(s);
	return 0;
}

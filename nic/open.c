/* open.c - device strings to drivers, plus ZCS_PCAP / ZCS_FAULTS (see open.h). */
#include "nic/open.h"
#include "nic/capture.h"
#include "nic/dpdk.h"
#include "nic/faults.h"
#include "nic/trapeze.h"
#include "stack/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int zc_parse_rate(const char *v, uint64_t *out)
{
	char *end;
	errno = 0;
	double d = strtod(v, &end);
	if (errno || end == v || !(d > 0)) /* NaN too */
		return -EINVAL;
	double mul = 1;
	if (*end == 'k' || *end == 'K')
		mul = 1e3, end++;
	else if (*end == 'M')
		mul = 1e6, end++;
	else if (*end == 'G')
		mul = 1e9, end++;
	/* under 1 bit/s would round to 0, which means no limit (fuzz_config) */
	if (*end != '\0' || d * mul > 1e13 || d * mul < 1)
		return -EINVAL;
	*out = (uint64_t)(d * mul);
	return 0;
}

static int zc__parse_u32(const char *v, uint32_t *out)
{
	char *end;
	errno = 0;
	unsigned long long x = strtoull(v, &end, 0);
	if (errno || end == v || *end || x > 0xffffffffull)
		return -EINVAL;
	*out = (uint32_t)x;
	return 0;
}

int zc_trapeze_parse_spec(char *args, struct zc_trapeze_config *out)
{
	struct zc_trapeze_config c = { 0 };
	char *save = NULL;
	for (char *tok = strtok_r(args, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		if (eq == NULL) {
			if (c.name) {
				ZC_ERR("nic: trapeze: '%s': expected key=value", tok);
				goto bad;
			}
			c.name = tok;
			continue;
		}
		*eq = '\0';
		const char *k = tok, *v = eq + 1;
		uint32_t u;
		if (strcmp(k, "name") == 0) {
			c.name = v;
		} else if (strcmp(k, "port") == 0) {
			if (zc__parse_u32(v, &u) || u > 1) {
				ZC_ERR("nic: trapeze: port=%s: expected 0 or 1", v);
				goto bad;
			}
			c.port = (int)u;
		} else if (strcmp(k, "mtu") == 0 || strcmp(k, "frames") == 0) {
			if (zc__parse_u32(v, &u) || u == 0) {
				ZC_ERR("nic: trapeze: %s=%s: expected a positive integer", k, v);
				goto bad;
			}
			if (k[0] == 'm')
				c.mtu = u;
			else
				c.nframes = u;
		} else if (strcmp(k, "rxhuge") == 0) {
			if (zc__parse_u32(v, &u) || u > 4096) {
				ZC_ERR("nic: trapeze: rxhuge=%s: expected a number of 2 MiB frames, 0 to 4096", v);
				goto bad;
			}
			c.rx_huge = u;
		} else if (strcmp(k, "ref") == 0) {
			if (zc__parse_u32(v, &u) || u > 1) {
				ZC_ERR("nic: trapeze: ref=%s: expected 1 (receive by reference, the default) or 0 (always copy)", v);
				goto bad;
			}
			c.no_ref = u == 0;
		} else if (strcmp(k, "rate") == 0) {
			if (zc_parse_rate(v, &c.rate_bps)) {
				ZC_ERR("nic: trapeze: rate=%s: expected bits per second such as 10G", v);
				goto bad;
			}
		} else if (strcmp(k, "delay") == 0) {
			if (zc_parse_duration(v, &c.delay_ns)) {
				ZC_ERR("nic: trapeze: delay=%s: expected a duration such as 100us", v);
				goto bad;
			}
		} else {
			ZC_ERR("nic: trapeze: unknown option '%s' (name, port, mtu, frames, rxhuge, ref, rate, delay)", k);
			goto bad;
		}
	}
	if (c.name == NULL) {
		ZC_ERR("nic: trapeze: no wire name: e.g. trapeze:w0,port=0");
		goto bad;
	}
	*out = c;
	return 0;
bad:
	return -EINVAL;
}

static struct zc_netif *zc__open_trapeze(char *args, struct zc_arena *arena)
{
	struct zc_trapeze_config c;
	if (zc_trapeze_parse_spec(args, &c) != 0) {
		errno = EINVAL;
		return NULL;
	}
	c.arena = arena;
	/* a capture shows what crossed the wire with its checksums: a packet
	 * kept by reference has its checksum left to the NIC, never written */
	const char *pcap = getenv("ZCS_PCAP");
	if (pcap && *pcap)
		c.no_ref = true;
	return zc_trapeze_open(&c);
}

#ifndef ZC_HAVE_DPDK
struct zc_netif *zc_dpdk_open(const struct zc_dpdk_config *cfg)
{
	(void)cfg;
	ZC_ERR("nic: dpdk: this build has no DPDK backend (install libdpdk-dev and rebuild)");
	errno = ENOTSUP;
	return NULL;
}
int zc_dpdk_get_stats(struct zc_netif *nif, struct zc_dpdk_stats *st)
{
	(void)nif;
	(void)st;
	return -EINVAL;
}
#endif

static int zc__parse_mac(const char *v, uint8_t mac[6])
{
	unsigned b[6];
	char tail;
	if (sscanf(v, "%x:%x:%x:%x:%x:%x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		if (b[i] > 255)
			return -EINVAL;
		mac[i] = (uint8_t)b[i];
	}
	return (mac[0] & 1) ? -EINVAL : 0; /* a station address, not multicast */
}

/* dpdk:VDEV[,pmd args...][,zc_mac=..][,zc_hdr=..][,zc_frames=..][,zc_mtu=..]:
 * the zc_ keys are ours and are taken out before DPDK sees the string. */
int zc_dpdk_parse_spec(char *args, struct zc_dpdk_config *out, char dev[256], uint8_t mac[6])
{
	struct zc_dpdk_config c = { 0 };
	dev[0] = '\0';
	if (strlen(args) >= 256) {
		ZC_ERR("nic: dpdk: overlong device string");
		goto bad;
	}
	char *save = NULL;
	for (char *tok = strtok_r(args, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		uint32_t u;
		if (strncmp(tok, "zc_", 3) != 0) {
			if (dev[0])
				strcat(dev, ",");
			strcat(dev, tok);
			continue;
		}
		char *eq = strchr(tok, '=');
		if (eq == NULL) {
			ZC_ERR("nic: dpdk: '%s': expected key=value", tok);
			goto bad;
		}
		*eq = '\0';
		const char *k = tok, *v = eq + 1;
		if (strcmp(k, "zc_mac") == 0) {
			if (zc__parse_mac(v, mac)) {
				ZC_ERR("nic: dpdk: zc_mac=%s: expected a unicast MAC such as 02:00:00:00:00:01", v);
				goto bad;
			}
			c.mac = mac;
		} else if (strcmp(k, "zc_hdr") == 0 || strcmp(k, "zc_frames") == 0 ||
			   strcmp(k, "zc_mtu") == 0) {
			if (zc__parse_u32(v, &u) || u == 0 || (k[3] == 'm' && u > 65535)) {
				ZC_ERR("nic: dpdk: %s=%s: expected a positive integer", k, v);
				goto bad;
			}
			if (k[3] == 'h')
				c.hdr = u;
			else if (k[3] == 'f')
				c.nframes = u;
			else
				c.mtu = (uint16_t)u;
		} else {
			ZC_ERR("nic: dpdk: unknown option '%s' (zc_mac, zc_hdr, zc_frames, zc_mtu)", k);
			goto bad;
		}
	}
	c.devargs = dev;
	*out = c;
	return 0;
bad:
	return -EINVAL;
}

static struct zc_netif *zc__open_dpdk(char *args)
{
	struct zc_dpdk_config c;
	uint8_t mac[6];
	char dev[256];
	if (zc_dpdk_parse_spec(args, &c, dev, mac) != 0) {
		errno = EINVAL;
		return NULL;
	}
	return zc_dpdk_open(&c);
}

struct zc_netif *zc_nic_open(const char *spec) { return zc_nic_open_in(spec, NULL, NULL); }

struct zc_netif *zc_nic_open_in(const char *spec, struct zc_arena *arena, bool *shared_ok)
{
	if (shared_ok)
		*shared_ok = false;
	char buf[256];
	if (spec == NULL || strlen(spec) >= sizeof(buf)) {
		ZC_ERR("nic: missing or overlong device string");
		errno = EINVAL;
		return NULL;
	}
	strcpy(buf, spec);
	struct zc_netif *nif = NULL;
	if (strncmp(buf, "trapeze:", 8) == 0) {
		nif = zc__open_trapeze(buf + 8, arena);
		if (shared_ok)
			*shared_ok = arena != NULL;
	} else if (strncmp(buf, "dpdk:", 5) == 0) {
		nif = zc__open_dpdk(buf + 5);
	} else {
		ZC_ERR("nic: unknown device '%s' (known: trapeze:NAME,port=N and dpdk:VDEV,ARGS "
		       "such as dpdk:net_tap0,iface=zc0)", spec);
		errno = EINVAL;
		return NULL;
	}
	if (nif == NULL)
		return NULL;
	const char *pcap = getenv("ZCS_PCAP");
	if (pcap && *pcap) {
		struct zc_netif *w = zc_capture_wrap(nif, pcap);
		if (w == NULL) {
			int e = errno;
			zc_netif_close(nif);
			errno = e;
			return NULL;
		}
		nif = w;
		if (shared_ok)
			*shared_ok = false; /* one pcap writer per process */
	}
	const char *fs = getenv("ZCS_FAULTS");
	if (fs && *fs) {
		struct zc_fault_config fc;
		struct zc_netif *w = NULL;
		if (zc_faults_parse(fs, &fc) == 0)
			w = zc_faults_wrap(nif, &fc);
		else
			ZC_ERR("nic: ZCS_FAULTS='%s' is not valid", fs);
		if (w == NULL) {
			zc_netif_close(nif);
			errno = EINVAL;
			return NULL;
		}
		nif = w;
		if (shared_ok)
			*shared_ok = false; /* its random stream and queues are this process's */
	}
	return nif;
}

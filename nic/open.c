/* open.c - device strings to drivers, plus ZCS_PCAP / ZCS_FAULTS (see open.h). */
#include "nic/open.h"
#include "nic/capture.h"
#include "nic/faults.h"
#include "nic/trapeze.h"
#include "stack/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int zc_parse_rate(const char *v, uint64_t *out)
{
	char *end;
	errno = 0;
	double d = strtod(v, &end);
	if (errno || end == v || d <= 0)
		return -EINVAL;
	double mul = 1;
	if (*end == 'k' || *end == 'K')
		mul = 1e3, end++;
	else if (*end == 'M')
		mul = 1e6, end++;
	else if (*end == 'G')
		mul = 1e9, end++;
	if (*end != '\0' || d * mul > 1e13)
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

static struct zc_netif *zc__open_trapeze(char *args)
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
			ZC_ERR("nic: trapeze: unknown option '%s' (name, port, mtu, frames, rate, delay)", k);
			goto bad;
		}
	}
	if (c.name == NULL) {
		ZC_ERR("nic: trapeze: no wire name: e.g. trapeze:w0,port=0");
		goto bad;
	}
	return zc_trapeze_open(&c);
bad:
	errno = EINVAL;
	return NULL;
}

struct zc_netif *zc_nic_open(const char *spec)
{
	char buf[256];
	if (spec == NULL || strlen(spec) >= sizeof(buf)) {
		ZC_ERR("nic: missing or overlong device string");
		errno = EINVAL;
		return NULL;
	}
	strcpy(buf, spec);
	struct zc_netif *nif = NULL;
	if (strncmp(buf, "trapeze:", 8) == 0) {
		nif = zc__open_trapeze(buf + 8);
	} else {
		ZC_ERR("nic: unknown device '%s' (known: trapeze:NAME,port=N)", spec);
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
	}
	return nif;
}

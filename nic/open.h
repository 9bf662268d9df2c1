/*
 * open.h - from a device string to a configured netif, with the capture and
 * fault middleware switched on by the environment.
 *
 *   trapeze:NAME[,port=0|1][,mtu=BYTES][,frames=N][,rxhuge=N][,rate=BITS][,delay=DUR]
 *     e.g. "trapeze:w0,port=1,mtu=65536,rate=10G,delay=100us"
 *
 * ZCS_PCAP=FILE   capture every frame to FILE (%p: the pid)
 * ZCS_FAULTS=...  inject faults (see faults.h), e.g. "loss=0.01,seed=7"
 * The result is faults(capture(driver)): the capture shows the wire itself.
 */
#ifndef ZC_NIC_OPEN_H
#define ZC_NIC_OPEN_H

#include "stack/netif.h"

/* Returns NULL with errno set after one clear log line naming the problem. */
struct zc_netif *zc_nic_open(const char *spec);
/* The same, the driver's state in arena where the driver can keep it there
 * (Trapeze): every process of a stack then drives the one NIC. DPDK and the
 * capture and fault layers keep theirs in this process (shared_ok false). */
struct zc_arena;
struct zc_netif *zc_nic_open_in(const char *spec, struct zc_arena *arena, bool *shared_ok);
/* The options of a trapeze: string (after "trapeze:") into *c, which is
 * written only on success; args is cut up (strtok). 0, or -EINVAL after a
 * log line naming the bad part. c->name points into args. */
struct zc_trapeze_config;
int zc_trapeze_parse_spec(char *args, struct zc_trapeze_config *c);
/* The same for a dpdk: string (after "dpdk:"): the zc_ keys into *c, the
 * rest joined into dev for DPDK (c->devargs = dev, c->mac = mac if set). */
struct zc_dpdk_config;
int zc_dpdk_parse_spec(char *args, struct zc_dpdk_config *c, char dev[256], uint8_t mac[6]);
/* Parse "10G", "400M", "1000000" (bit/s); 0 or -EINVAL. */
int zc_parse_rate(const char *v, uint64_t *out);

#endif

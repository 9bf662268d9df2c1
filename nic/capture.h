/*
 * capture.h - a middleware that writes every frame a netif sends or
 * receives to a pcap file (libpcap, Ethernet link type, nanosecond
 * timestamps), headers and payload joined into one frame, as on the wire.
 * Wrapped directly around a driver it records what crossed the wire.
 */
#ifndef ZC_CAPTURE_H
#define ZC_CAPTURE_H

#include "stack/netif.h"

#include <stdint.h>

struct zc_capture_stats {
	uint64_t frames;      /* frames written */
	uint64_t bytes;       /* bytes written (the copies capture costs) */
};

/* Wrap lower; path may contain %p (replaced by the pid). On success the new
 * netif owns lower; NULL (errno, a log line) on failure, lower untouched. */
struct zc_netif *zc_capture_wrap(struct zc_netif *lower, const char *path);
void zc_capture_get_stats(struct zc_netif *nif, struct zc_capture_stats *st);

#endif

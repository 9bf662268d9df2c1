/*
 * zcrun.c - run an unmodified program on zcstack (LD_PRELOAD of
 * libzcpreload.so with the stack's settings in the environment).
 *
 * Every flag has a ZCS_* twin in the environment; flags win. Values are
 * checked here, so a bad one gives one clear error before the program
 * starts. docs/man/zcrun.1 is its manual page.
 */
#include "sockapi/socket.h"
#include "stack/stack.h"

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: zcrun [--nic SPEC] [--ip ADDR/PREFIX] [--gw ADDR] [--pcap FILE]\n"
		"             [--zc auto|always|never] [-v] -- PROGRAM [ARGS...]\n"
		"\n"
		"Runs PROGRAM with its IPv4 TCP and UDP sockets on zcstack, a user-space stack,\n"
		"instead of the kernel's. Files, pipes, unix sockets and sockets to addresses the\n"
		"stack does not reach (loopback, other subnets without --gw) stay the kernel's.\n"
		"\n"
		"  --nic SPEC     the NIC (env ZCS_NIC), e.g.\n"
		"                   trapeze:w0,port=0          a simulated Trapeze wire shared\n"
		"                                              with another process (port=1)\n"
		"                   dpdk:net_tap0,iface=zc0    DPDK's TAP device: the kernel is\n"
		"                                              the peer on interface zc0\n"
		"  --ip ADDR/LEN  the stack's address (env ZCS_IP), e.g. 10.0.0.1/24\n"
		"  --gw ADDR      a gateway for other subnets (env ZCS_GW)\n"
		"  --pcap FILE    capture every frame to FILE, %%p = pid (env ZCS_PCAP)\n"
		"  --zc POLICY    zero-copy: auto (trade and send by reference where measured\n"
		"                 cheaper; default), always, never (env ZCS_ZC)\n"
		"  -v             log what the stack does (env ZCS_LOG=info)\n"
		"\n"
		"Example, two shells on one machine:\n"
		"  zcrun --nic trapeze:w0,port=0 --ip 10.0.0.1/24 -- iperf3 -s\n"
		"  zcrun --nic trapeze:w0,port=1 --ip 10.0.0.2/24 -- iperf3 -c 10.0.0.1\n"
		"A port is free again when its program exits: a server on port 0 serves one\n"
		"client program after another on port 1.\n"
		"Counters of a running program: zcstat PID\n");
}

static int fail(const char *fmt, const char *v)
{
	fprintf(stderr, "zcrun: ");
	fprintf(stderr, fmt, v);
	fprintf(stderr, " (zcrun --help)\n");
	return 2;
}

/* Where meson installs the programs and libraries (-D from meson.build). */
#ifndef ZC_BINDIR
#error "ZC_BINDIR (the install bindir) comes from meson.build"
#endif
#ifndef ZC_LIBDIR
#error "ZC_LIBDIR (the install libdir) comes from meson.build"
#endif

/* The preload library: $ZCS_PRELOAD; beside this program (the build
 * tree); installed, in the libdir under the root that this program's
 * directory is the bindir of (the root is empty, or a staging directory
 * such as meson install --destdir's); the libdir itself. */
static int find_lib(char *out, size_t n)
{
	const char *e = getenv("ZCS_PRELOAD");
	if (e && *e) {
		snprintf(out, n, "%s", e);
		return access(out, R_OK);
	}
	char self[PATH_MAX];
	ssize_t k = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (k > 0) {
		self[k] = '\0';
		const char *dir = dirname(self);
		snprintf(out, n, "%s/libzcpreload.so", dir);
		if (access(out, R_OK) == 0)
			return 0;
		size_t dl = strlen(dir), bl = strlen(ZC_BINDIR);
		if (dl >= bl && strcmp(dir + dl - bl, ZC_BINDIR) == 0) {
			snprintf(out, n, "%.*s%s/libzcpreload.so", (int)(dl - bl), dir, ZC_LIBDIR);
			if (access(out, R_OK) == 0)
				return 0;
		}
	}
	snprintf(out, n, "%s/libzcpreload.so", ZC_LIBDIR);
	return access(out, R_OK);
}

int main(int argc, char **argv)
{
	const char *nic = getenv("ZCS_NIC"), *ip = getenv("ZCS_IP"), *gw = getenv("ZCS_GW");
	const char *pcap = getenv("ZCS_PCAP"), *zc = getenv("ZCS_ZC");
	bool verbose = false;
	static const struct option lo[] = {
		{ "nic", required_argument, 0, 'n' }, { "ip", required_argument, 0, 'i' },
		{ "gw", required_argument, 0, 'g' },  { "pcap", required_argument, 0, 'p' },
		{ "zc", required_argument, 0, 'z' },  { "verbose", no_argument, 0, 'v' },
		{ "help", no_argument, 0, 'h' },      { 0, 0, 0, 0 },
	};
	for (int o; (o = getopt_long(argc, argv, "+vh", lo, NULL)) != -1;) {
		switch (o) {
		case 'n': nic = optarg; break;
		case 'i': ip = optarg; break;
		case 'g': gw = optarg; break;
		case 'p': pcap = optarg; break;
		case 'z': zc = optarg; break;
		case 'v': verbose = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind >= argc)
		return fail("no program to run: zcrun [options] -- PROGRAM ARGS%s", "");
	if (nic == NULL || !*nic)
		return fail("no NIC: give --nic such as trapeze:w0,port=0%s", "");
	if (strncmp(nic, "trapeze:", 8) != 0 && strncmp(nic, "dpdk:", 5) != 0)
		return fail("--nic %s: expected trapeze:NAME,... or dpdk:VDEV,...", nic);
	uint32_t a;
	uint8_t plen;
	if (ip == NULL || !*ip)
		return fail("no address: give --ip such as 10.0.0.1/24%s", "");
	if (zc_parse_ipv4(ip, &a, &plen, 24) != 0 || a == 0 || (a >> 24) == 127 || (a >> 28) >= 14)
		return fail("--ip %s: expected a unicast a.b.c.d/prefix such as 10.0.0.1/24", ip);
	if (gw && *gw && zc_parse_ipv4(gw, &a, &plen, 32) != 0)
		return fail("--gw %s: expected an address such as 10.0.0.254", gw);
	if (zc && *zc && zc_zcopy_parse(zc) < 0)
		return fail("--zc %s: expected auto, always or never", zc);
	if (pcap && *pcap) {
		char d[PATH_MAX];
		snprintf(d, sizeof(d), "%s", pcap);
		if (access(dirname(d), W_OK) != 0)
			return fail("--pcap %s: its directory is not writable", pcap);
	}
	char lib[PATH_MAX];
	if (find_lib(lib, sizeof(lib)) != 0)
		return fail("cannot find libzcpreload.so beside zcrun, in " ZC_LIBDIR " or in $ZCS_PRELOAD (%s)",
			    getenv("ZCS_PRELOAD") ? getenv("ZCS_PRELOAD") : "unset");
	setenv("ZCS_NIC", nic, 1);
	setenv("ZCS_IP", ip, 1);
	if (gw && *gw)
		setenv("ZCS_GW", gw, 1);
	if (pcap && *pcap)
		setenv("ZCS_PCAP", pcap, 1);
	if (zc && *zc)
		setenv("ZCS_ZC", zc, 1);
	if (verbose)
		setenv("ZCS_LOG", "info", 1);
	const char *old = getenv("LD_PRELOAD");
	char pre[PATH_MAX * 2];
	snprintf(pre, sizeof(pre), "%s%s%s", lib, old && *old ? ":" : "", old && *old ? old : "");
	setenv("LD_PRELOAD", pre, 1);
	execvp(argv[optind], argv + optind);
	fprintf(stderr, "zcrun: cannot run %s: %s\n", argv[optind], strerror(errno));
	return 127;
}

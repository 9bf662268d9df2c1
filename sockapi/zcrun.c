/*
 * zcrun.c - run an unmodified program on zcstack (LD_PRELOAD of
 * libzcpreload.so with the stack's settings in the environment).
 *
 * Every flag has a ZCS_* twin in the environment; flags win. Values are
 * checked here, so a bad one gives one clear error before the program
 * starts. So is the program: a statically linked one is refused (the
 * preload cannot enter it: its sockets would silently be the kernel's),
 * and a Go program is run with a warning (Go makes its system calls
 * itself, past the C library, so its sockets mostly bypass the stack).
 * docs/man/zcrun.1 is its manual page.
 */
#include "sockapi/socket.h"
#include "stack/stack.h"
#include "stack/tcp.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: zcrun [--nic SPEC] [--ip ADDR/PREFIX] [--gw ADDR] [--pcap FILE]\n"
		"             [--zc auto|always|never] [--allow-static] [-v] -- PROGRAM [ARGS...]\n"
		"\n"
		"Runs PROGRAM with its TCP and UDP sockets on zcstack, a user-space IPv4 stack,\n"
		"instead of the kernel's: AF_INET ones and AF_INET6 ones on [::] or v4-mapped\n"
		"addresses (dual-stack, as iperf3 -s opens them). A server listening on\n"
		"the wildcard (0.0.0.0, [::]) is also reached by local tools over 127.0.0.1.\n"
		"Files, pipes, unix sockets and sockets to addresses the stack does not reach\n"
		"(loopback, native IPv6, other subnets without --gw) stay the kernel's.\n"
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
		"  --cc NAME      TCP congestion control: cubic (default, as Linux), newreno\n"
		"                 (reno is the same); TCP_CONGESTION changes it (env ZCS_CC)\n"
		"  --allow-static run PROGRAM even if it is statically linked: the preload\n"
		"                 cannot enter it (its own sockets are the kernel's), but the\n"
		"                 dynamically linked programs it starts run on the stack\n"
		"  -v             log what the stack does (env ZCS_LOG=info)\n"
		"\n"
		"What the stack does not carry (other families, raw sockets, binds and\n"
		"connects off the stack, options it lacks) is the kernel's or fails; each\n"
		"kind is logged once and counted in zcstat (bypass_*). Statically linked\n"
		"programs are refused; Go programs run with a warning (raw system calls).\n"
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

/* Where execvp will find prog: a path as is, else the first executable
 * regular file of that name in $PATH (an empty entry is the current
 * directory). false: not found (execvp's own error will say so). */
static bool resolve(const char *prog, char *out, size_t n)
{
	struct stat st;
	if (strchr(prog, '/')) {
		snprintf(out, n, "%s", prog);
		return stat(out, &st) == 0;
	}
	const char *path = getenv("PATH");
	if (path == NULL)
		path = "/bin:/usr/bin"; /* the C library's default */
	for (const char *p = path;;) {
		const char *e = strchrnul(p, ':');
		int len = (int)(e - p);
		snprintf(out, n, "%.*s%s%s", len, p, len ? "/" : "", prog);
		if (stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0)
			return true;
		if (*e == '\0')
			return false;
		p = e + 1;
	}
}

struct elf_facts {
	bool elf;    /* a native ELF executable that could be inspected */
	bool interp; /* has PT_INTERP: the dynamic loader, hence LD_PRELOAD */
	bool go;     /* has .go.buildinfo or .note.go.buildid */
};

static bool rd(int fd, void *b, size_t n, uint64_t off)
{
	return pread(fd, b, n, (off_t)off) == (ssize_t)n;
}

/* What the ELF headers of the file say (64 and 32 bits, this machine's
 * byte order). Anything else (a script, a foreign or damaged file) is not
 * judged: exec decides. */
static struct elf_facts inspect(const char *path)
{
	struct elf_facts f = { 0 };
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return f;
	unsigned char id[EI_NIDENT];
	const int native = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? ELFDATA2LSB : ELFDATA2MSB;
	if (!rd(fd, id, sizeof(id), 0) || memcmp(id, ELFMAG, SELFMAG) != 0 || id[EI_DATA] != native ||
	    (id[EI_CLASS] != ELFCLASS64 && id[EI_CLASS] != ELFCLASS32))
		goto out;
	bool b64 = id[EI_CLASS] == ELFCLASS64;
	uint64_t phoff, shoff;
	unsigned type, phnum, phent, shnum, shent, shstrndx;
	if (b64) {
		Elf64_Ehdr h;
		if (!rd(fd, &h, sizeof(h), 0))
			goto out;
		type = h.e_type, phoff = h.e_phoff, phnum = h.e_phnum, phent = h.e_phentsize;
		shoff = h.e_shoff, shnum = h.e_shnum, shent = h.e_shentsize, shstrndx = h.e_shstrndx;
	} else {
		Elf32_Ehdr h;
		if (!rd(fd, &h, sizeof(h), 0))
			goto out;
		type = h.e_type, phoff = h.e_phoff, phnum = h.e_phnum, phent = h.e_phentsize;
		shoff = h.e_shoff, shnum = h.e_shnum, shent = h.e_shentsize, shstrndx = h.e_shstrndx;
	}
	if ((type != ET_EXEC && type != ET_DYN) || phent < sizeof(uint32_t))
		goto out;
	f.elf = true;
	for (unsigned i = 0; i < phnum && !f.interp; i++) {
		uint32_t pt; /* p_type comes first in both classes */
		if (!rd(fd, &pt, sizeof(pt), phoff + (uint64_t)i * phent))
			break;
		f.interp = pt == PT_INTERP;
	}
	/* section names, for Go's notes; a file without sections is not Go's */
	if (shoff == 0 || shnum == 0 || shstrndx == SHN_UNDEF || shstrndx >= shnum ||
	    shent < (b64 ? sizeof(Elf64_Shdr) : sizeof(Elf32_Shdr)))
		goto out;
	uint64_t stroff, strsize;
	if (b64) {
		Elf64_Shdr sh;
		if (!rd(fd, &sh, sizeof(sh), shoff + (uint64_t)shstrndx * shent))
			goto out;
		stroff = sh.sh_offset, strsize = sh.sh_size;
	} else {
		Elf32_Shdr sh;
		if (!rd(fd, &sh, sizeof(sh), shoff + (uint64_t)shstrndx * shent))
			goto out;
		stroff = sh.sh_offset, strsize = sh.sh_size;
	}
	for (unsigned i = 0; i < shnum && !f.go; i++) {
		uint32_t nm; /* sh_name comes first in both classes */
		char name[24] = "";
		if (!rd(fd, &nm, sizeof(nm), shoff + (uint64_t)i * shent))
			break;
		if (nm >= strsize)
			continue;
		if (pread(fd, name, sizeof(name) - 1, (off_t)(stroff + nm)) <= 0)
			continue;
		f.go = strcmp(name, ".go.buildinfo") == 0 || strcmp(name, ".note.go.buildid") == 0;
	}
out:
	close(fd);
	return f;
}

/* 126, as a shell answers a program it found but cannot run: zcrun can
 * run it, but not on the stack. */
static int check_program(const char *prog, bool allow_static)
{
	char path[PATH_MAX];
	if (!resolve(prog, path, sizeof(path)))
		return 0;
	struct elf_facts f = inspect(path);
	if (!f.elf)
		return 0;
	if (!f.interp && !allow_static) {
		fprintf(stderr,
			"zcrun: %s (%s) is statically linked%s: the preload cannot enter it, so its sockets "
			"would be the kernel's; run a dynamically linked build of it, or run it without zcrun "
			"(--allow-static runs it anyway, for a static program that starts dynamic ones)\n",
			prog, path, f.go ? " (a Go program)" : "");
		return 126;
	}
	if (f.go && f.interp)
		fprintf(stderr,
			"zcrun: warning: %s is a Go program: Go makes its system calls itself, not through "
			"the C library, so most of its sockets bypass the stack and are the kernel's "
			"(only calls through cgo reach zcstack)\n", prog);
	return 0;
}

int main(int argc, char **argv)
{
	const char *nic = getenv("ZCS_NIC"), *ip = getenv("ZCS_IP"), *gw = getenv("ZCS_GW");
	const char *pcap = getenv("ZCS_PCAP"), *zc = getenv("ZCS_ZC"), *cc = getenv("ZCS_CC");
	bool verbose = false, allow_static = false;
	static const struct option lo[] = {
		{ "nic", required_argument, 0, 'n' }, { "ip", required_argument, 0, 'i' },
		{ "gw", required_argument, 0, 'g' },  { "pcap", required_argument, 0, 'p' },
		{ "zc", required_argument, 0, 'z' },  { "verbose", no_argument, 0, 'v' },
		{ "help", no_argument, 0, 'h' },      { "allow-static", no_argument, 0, 'S' },
		{ "cc", required_argument, 0, 'c' },  { 0, 0, 0, 0 },
	};
	for (int o; (o = getopt_long(argc, argv, "+vh", lo, NULL)) != -1;) {
		switch (o) {
		case 'n': nic = optarg; break;
		case 'i': ip = optarg; break;
		case 'g': gw = optarg; break;
		case 'p': pcap = optarg; break;
		case 'z': zc = optarg; break;
		case 'c': cc = optarg; break;
		case 'v': verbose = true; break;
		case 'S': allow_static = true; break;
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
	if (cc && *cc && !zc_tcp_cc_known(cc))
		return fail("--cc %s: expected cubic (the default), newreno or reno", cc);
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
	int st = check_program(argv[optind], allow_static);
	if (st)
		return st;
	setenv("ZCS_NIC", nic, 1);
	setenv("ZCS_IP", ip, 1);
	if (gw && *gw)
		setenv("ZCS_GW", gw, 1);
	if (pcap && *pcap)
		setenv("ZCS_PCAP", pcap, 1);
	if (zc && *zc)
		setenv("ZCS_ZC", zc, 1);
	if (cc && *cc)
		setenv("ZCS_CC", cc, 1);
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

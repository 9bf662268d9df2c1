/*
 * zc_bench_kernel.c - the Linux kernel's cells: the same sweep over a
 * loopback TCP connection between two single-threaded processes of their
 * own (a receiver on CPU 0, a sender on CPU 1), plain send/recv, with
 * MSG_ZEROCOPY sends, with TCP_ZEROCOPY_RECEIVE reads, and both. The
 * benchmark's parent drives them over two socketpairs; the receiver
 * checks one word of every page against the stream pattern.
 */
#include "zc_bench.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096u  /* what TCP_ZEROCOPY_RECEIVE maps, and kcheck's stride */
#define WAIT_MS 1000 /* the longest wait for completions or data (the warning's "a second") */

/* The kernel's cells run between two processes of their own, forked before
 * anything else: single-threaded, so that neither the socket layer's
 * threads nor its mappings are in their way. The parent sends each a
 * struct cmd on a socketpair and reads a struct kres back. */
struct kres {
	uint64_t cpu_ns, wall_ns; /* wall: the receiver's, from the command to the last byte */
	uint64_t copied, nocopy;  /* bytes copied; bytes mapped (receiver) or sent without a copy */
	uint32_t unconfirmed;     /* MSG_ZEROCOPY sends whose completion never came */
	int32_t err;              /* the first message: 0, or why the zero-copy mode cannot run */
};

static void kio(int fd, void *p, size_t n, bool rd)
{
	for (size_t done = 0; done < n;) {
		ssize_t r = rd ? read(fd, (uint8_t *)p + done, n - done) : write(fd, (const uint8_t *)p + done, n - done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (rd && r == 0 && done == 0) { /* the parent went away */
				memset(p, 0, n);
				return;
			}
			die("kernel pair control");
		}
		done += (size_t)r;
	}
}

/*
 * MSG_ZEROCOPY (Documentation/networking/msg_zerocopy.rst): every send call
 * that takes bytes gets the next 32-bit id; completions arrive on the error
 * queue as id ranges, with SO_EE_CODE_ZEROCOPY_COPIED when the kernel copied
 * after all (on loopback it copies at delivery). The bytes of each id are
 * kept so that the completions say how many bytes went without a copy.
 */
#define ZCN_RING (1u << 16)
struct zcn {
	uint32_t next, done; /* ids handed out, ids completed */
	uint32_t len[ZCN_RING];
	uint64_t copied, zero;
};

/* Takes the completions queued; with wait, until every id has completed
 * or a second passes without one (returns the ids still open). */
static uint32_t zcn_reap(int fd, struct zcn *z, bool wait)
{
	while (z->done != z->next) {
		char ctl[256];
		struct msghdr m = { .msg_control = ctl, .msg_controllen = sizeof(ctl) };
		if (recvmsg(fd, &m, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN || !wait)
				break;
			struct pollfd p = { .fd = fd, .events = 0 };
			if (poll(&p, 1, WAIT_MS) <= 0)
				break;
			continue;
		}
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm)) {
			if (!((cm->cmsg_level == SOL_IP && cm->cmsg_type == IP_RECVERR) ||
			      (cm->cmsg_level == SOL_IPV6 && cm->cmsg_type == IPV6_RECVERR)))
				continue;
			struct sock_extended_err e;
			memcpy(&e, CMSG_DATA(cm), sizeof(e));
			if (e.ee_origin != SO_EE_ORIGIN_ZEROCOPY || e.ee_errno != 0)
				continue;
			for (uint32_t id = e.ee_info; id - e.ee_info <= e.ee_data - e.ee_info; id++) {
				uint32_t b = z->len[id % ZCN_RING];
				if (e.ee_code & SO_EE_CODE_ZEROCOPY_COPIED)
					z->copied += b;
				else
					z->zero += b;
				z->done++;
			}
		}
	}
	return z->next - z->done;
}

/* The sender's side of a kernel cell: `bytes` in writes of `size` from the
 * page-aligned pattern buffer, with MSG_ZEROCOPY or plain send. */
static void ksend(int fd, const uint8_t *buf, uint64_t size, uint64_t bytes, bool msgzc, struct kres *r,
		  struct zcn *z)
{
	z->copied = z->zero = 0;
	uint64_t plain = 0;
	for (uint64_t off = 0; off < bytes; off += size) {
		size_t n = bytes - off < size ? (size_t)(bytes - off) : (size_t)size;
		for (size_t done = 0; done < n;) {
			if (msgzc && z->next - z->done >= ZCN_RING - 1)
				zcn_reap(fd, z, true);
			ssize_t k = send(fd, buf + done, n - done, MSG_NOSIGNAL | (msgzc ? MSG_ZEROCOPY : 0));
			if (k < 0) {
				if (errno == EINTR)
					continue;
				if (errno == ENOBUFS && msgzc) { /* completions hold the socket's option memory */
					zcn_reap(fd, z, true);
					continue;
				}
				die("kernel send");
			}
			done += (size_t)k;
			if (msgzc) {
				z->len[z->next % ZCN_RING] = (uint32_t)k;
				z->next++;
				zcn_reap(fd, z, false);
			} else {
				plain += (uint64_t)k;
			}
		}
	}
	r->unconfirmed = msgzc ? zcn_reap(fd, z, true) : 0;
	r->copied = plain + z->copied;
	r->nocopy = z->zero;
}

/* TCP_ZEROCOPY_RECEIVE's argument as Linux 5.11+ defines it (linux/tcp.h;
 * glibc's netinet/tcp.h has only its first three fields). */
struct kzc_receive {
	uint64_t address;
	uint32_t length, recv_skip_hint, inq;
	int32_t err;
	uint64_t copybuf_address;
	int32_t copybuf_len;
	uint32_t flags;
	uint64_t msg_control, msg_controllen;
	uint32_t msg_flags, reserved;
};


/* One word of every page of what arrived, at offsets [from, to) of a write
 * (the sender writes its pattern buffer from its start each time). */
static void kcheck(const uint8_t *p, uint64_t from, uint64_t to)
{
	for (uint64_t o = (from + 7) & ~7ull; o + 8 <= to; o += PAGE) {
		uint64_t w;
		memcpy(&w, p + (o - from), 8);
		if (w != pat_word(o / 8)) {
			fprintf(stderr, "zc_bench: kernel cell: wrong bytes at offset %llu of a write\n",
				(unsigned long long)o);
			exit(1);
		}
	}
}

/* The receiver's side of a kernel cell: reads of `size` with recv into
 * buf, or TCP_ZEROCOPY_RECEIVE for whole pages (mapped at kmap) and recv
 * for what it cannot map. */
static void krecv(int fd, uint8_t *buf, uint8_t *kmap, int mode, uint64_t size, uint64_t bytes, uint64_t *copied,
		  uint64_t *mapped)
{
	for (uint64_t off = 0; off < bytes; off += size) {
		size_t n = bytes - off < size ? (size_t)(bytes - off) : (size_t)size;
		size_t got = 0;
		while (got < n) {
			size_t want = n - got;
			int flags = MSG_WAITALL;
			if (mode_zcrx(mode) && n - got >= PAGE) {
				struct kzc_receive z = { .address = (uintptr_t)kmap,
							 .length = (uint32_t)((n - got) & ~(size_t)(PAGE - 1)) };
				socklen_t zl = sizeof(z);
				if (getsockopt(fd, IPPROTO_TCP, TCP_ZEROCOPY_RECEIVE, &z, &zl) != 0)
					die("TCP_ZEROCOPY_RECEIVE");
				if (z.err) {
					errno = -z.err;
					die("TCP_ZEROCOPY_RECEIVE");
				}
				if (z.length) {
					kcheck(kmap, got, got + z.length);
					*mapped += z.length;
					got += z.length;
					continue;
				}
				if (z.recv_skip_hint == 0) { /* nothing queued: the call does not wait */
					struct pollfd p = { .fd = fd, .events = POLLIN };
					poll(&p, 1, WAIT_MS);
					continue;
				}
				want = z.recv_skip_hint < n - got ? z.recv_skip_hint : n - got;
				flags = 0; /* what cannot be mapped, then map again */
			}
			ssize_t r = recv(fd, buf + got, want, flags);
			if (r <= 0) {
				if (r < 0 && errno == EINTR)
					continue;
				die("kernel receive");
			}
			kcheck(buf + got, got, got + (size_t)r);
			*copied += (uint64_t)r;
			got += (size_t)r;
		}
	}
}

/* The parent's next command, r cleared for its result: false at the end. */
static bool knext(int ctl, struct cmd *c, struct kres *r)
{
	kio(ctl, c, sizeof(*c), true);
	*r = (struct kres){ 0 };
	return c->op == OP_CELL;
}

static int kreceiver(int ctl, int kl)
{
	pin(0);
	int fd = accept4(kl, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		die("kernel accept");
	close(kl);
	uint8_t *buf = abuf(MAX_IO);
	/* TCP_ZEROCOPY_RECEIVE (Linux 4.18): a read-only shared mapping of the
	 * socket, into which getsockopt maps received pages; probed with
	 * nothing received yet, which maps nothing */
	struct kres r = { 0 };
	uint8_t *kmap = mmap(NULL, MAX_IO, PROT_READ, MAP_SHARED, fd, 0);
	if (kmap == MAP_FAILED) {
		r.err = errno;
	} else {
		struct kzc_receive z = { .address = (uintptr_t)kmap };
		socklen_t zl = sizeof(z);
		if (getsockopt(fd, IPPROTO_TCP, TCP_ZEROCOPY_RECEIVE, &z, &zl) != 0)
			r.err = errno;
	}
	kio(ctl, &r, sizeof(r), false);
	for (struct cmd c; knext(ctl, &c, &r);) {
		uint64_t w0 = now_ns(), c0 = cpu_ns();
		krecv(fd, buf, kmap, (int)c.policy, c.size, c.bytes, &r.copied, &r.nocopy);
		r.wall_ns = now_ns() - w0;
		r.cpu_ns = cpu_ns() - c0;
		kio(ctl, &r, sizeof(r), false);
	}
	close(fd);
	return 0;
}

static int ksender(int ctl, int port)
{
	pin(1);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in k = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (fd < 0 || connect(fd, (struct sockaddr *)&k, sizeof(k)) != 0)
		die("kernel connect");
	int one = 1;
	struct kres r = { 0 }; /* MSG_ZEROCOPY needs SO_ZEROCOPY (Linux 4.14) */
	if (setsockopt(fd, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof(one)) != 0)
		r.err = errno;
	kio(ctl, &r, sizeof(r), false);
	struct zcn *zn = calloc(1, sizeof(*zn));
	uint8_t *buf = abuf(MAX_IO);
	pat_fill(buf, 0, MAX_IO);
	for (struct cmd c; knext(ctl, &c, &r);) {
		uint64_t c0 = cpu_ns();
		ksend(fd, buf, c.size, c.bytes, mode_msgzc((int)c.policy), &r, zn);
		r.cpu_ns = cpu_ns() - c0;
		kio(ctl, &r, sizeof(r), false);
	}
	free(zn);
	close(fd);
	return 0;
}

/* Forks the two processes on a fresh loopback connection; their first
 * messages say which zero-copy modes the kernel refuses. */
struct kpair kpair_start(void)
{
	struct kpair k;
	int kl = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	if (kl < 0 || bind(kl, (struct sockaddr *)&a, sizeof(a)) || listen(kl, 1) ||
	    getsockname(kl, (struct sockaddr *)&a, &al))
		die("kernel listener");
	int sr[2], st[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sr) ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, st))
		die("socketpair");
	fflush(stdout);
	if ((k.rx = fork()) < 0)
		die("fork");
	if (k.rx == 0) {
		close(sr[0]), close(st[0]), close(st[1]);
		_exit(kreceiver(sr[1], kl));
	}
	close(kl);
	if ((k.tx = fork()) < 0)
		die("fork");
	if (k.tx == 0) {
		close(sr[0]), close(sr[1]), close(st[0]);
		_exit(ksender(st[1], ntohs(a.sin_port)));
	}
	close(sr[1]);
	close(st[1]);
	k.rxc = sr[0];
	k.txc = st[0];
	struct kres r;
	kio(k.txc, &r, sizeof(r), true);
	k.msgzc_err = r.err;
	kio(k.rxc, &r, sizeof(r), true);
	k.zcrx_err = r.err;
	return k;
}

void kpair_stop(struct kpair *k)
{
	struct cmd c = { .op = OP_QUIT };
	kio(k->rxc, &c, sizeof(c), false);
	kio(k->txc, &c, sizeof(c), false);
	close(k->rxc);
	close(k->txc);
	waitpid(k->rx, NULL, 0);
	waitpid(k->tx, NULL, 0);
}

/* A kernel cell: the same measures as the socket layer's, from the
 * kernel's own reports: bytes copied are those received with recv and
 * those sent plainly or whose MSG_ZEROCOPY completion says COPIED. */
void run_kcell(struct kpair *k, int mode, uint64_t size, uint64_t bytes, struct cell *out)
{
	struct cmd c = { .op = OP_CELL, .policy = (uint32_t)mode, .size = size, .bytes = bytes };
	kio(k->rxc, &c, sizeof(c), false);
	kio(k->txc, &c, sizeof(c), false);
	struct kres rr, tr;
	kio(k->rxc, &rr, sizeof(rr), true);
	kio(k->txc, &tr, sizeof(tr), true);
	cell_rate(out, size, mode, bytes, rr.wall_ns, rr.cpu_ns, tr.cpu_ns);
	out->copied_per_byte = (double)(rr.copied + tr.copied) / (double)bytes;
	out->traded = (double)rr.nocopy / (double)bytes;
	out->cow = (double)tr.nocopy / (double)bytes;
	if (tr.unconfirmed)
		fprintf(stderr, "zc_bench: %u MSG_ZEROCOPY sends had no completion after a second\n",
			(unsigned)tr.unconfirmed);
	out->deliver_ms_per_gib = -1; /* inside the kernel's receive: not apart */
}

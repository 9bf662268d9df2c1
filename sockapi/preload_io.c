/*
 * preload_io.c - the shim's other ways to read and write a socket:
 * glibc's fortified entry points (__read_chk, __recv_chk, __recvfrom_chk,
 * __pread_chk, __pread64_chk; __poll_chk and __ppoll_chk are in
 * preload_poll.c) and the public aliases of libc's own calls (__read,
 * __write, __close, __connect, __send, __fcntl, __dup2, __poll, __pread64);
 * pread, pwrite, preadv, pwritev, preadv2, pwritev2 and their 64-bit
 * names; sendmmsg, recvmmsg; splice, tee, vmsplice; sendfile; fdopen;
 * aio_read, aio_write, lio_listio (refused, below).
 *
 * glibc's fortified and aliased functions call the kernel inside glibc,
 * never through read() or recv(), so without these a program built with
 * _FORTIFY_SOURCE would read a stack socket's placeholder (the unbound
 * kernel socket behind its number). __fdelt_chk (FD_SET's check) is
 * glibc's own: it checks a number and reads no descriptor.
 *
 * On a stack socket, as the kernel does on its own sockets:
 *   - pread and friends fail with ESPIPE (EINVAL for a negative offset);
 *     preadv2/pwritev2 at offset -1 are readv/writev (RWF_NOWAIT is
 *     MSG_DONTWAIT, RWF_NOSIGNAL MSG_NOSIGNAL, the others change nothing);
 *   - sendmmsg/recvmmsg are sendmsg/recvmsg in a loop, with the kernel's
 *     rules: sendmmsg stops at a short send, recvmmsg's MSG_WAITFORONE
 *     and timeout (looked at after each message), at most UIO_MAXIOV;
 *   - splice between a stack socket and a pipe goes through a 64 KiB
 *     buffer: socket to pipe reads no more than the pipe has room for, so
 *     nothing read is left over; pipe to socket waits until the socket
 *     takes all it read from the pipe. Any other pair is EINVAL, tee on a
 *     socket EINVAL, vmsplice EBADF, as the kernel answers;
 *   - sendfile from any readable descriptor into a stack socket reads and
 *     sends a piece at a time (a stack socket as the source is EINVAL);
 *   - fdopen returns a stdio stream (fopencookie) whose reads and writes
 *     are the stack's, whose fileno() is the descriptor and whose fclose
 *     closes the socket once; fseek and ftell fail with ESPIPE.
 * Not carried: POSIX AIO (aio_read, aio_write, lio_listio and their 64-bit
 * names): glibc's AIO threads call the kernel inside glibc, so on a stack
 * socket they would read its placeholder; refused with ENOSYS (AIO's "not
 * implemented"), counted as bypass_call and told once per call.
 * Everything else goes to the C library untouched.
 */
#include "sockapi/preload_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef RWF_NOWAIT
#define RWF_NOWAIT 0x8
#endif
#ifndef RWF_NOSIGNAL
#define RWF_NOSIGNAL 0x100 /* Linux 6.10 */
#endif
#ifndef UIO_MAXIOV
#define UIO_MAXIOV 1024
#endif

/* The bounce buffer of splice and sendfile: its size only sets how many
 * rounds a large transfer takes. */
#define ZC__PIECE 65536

extern void __chk_fail(void) __attribute__((noreturn));

static ssize_t zc__fail_with(int e)
{
	errno = e;
	return -1;
}

/* --- fortified and aliased entry points ---------------------------------------- */

EXPORT ssize_t __read_chk(int fd, void *b, size_t n, size_t blen)
{
	if (n > blen)
		__chk_fail();
	return read(fd, b, n);
}

EXPORT ssize_t __recv_chk(int fd, void *b, size_t n, size_t blen, int fl)
{
	if (n > blen)
		__chk_fail();
	return recv(fd, b, n, fl);
}

EXPORT ssize_t __recvfrom_chk(int fd, void *b, size_t n, size_t blen, int fl, struct sockaddr *a, socklen_t *l)
{
	if (n > blen)
		__chk_fail();
	return recvfrom(fd, b, n, fl, a, l);
}

EXPORT ssize_t __pread_chk(int fd, void *b, size_t n, off_t off, size_t blen)
{
	if (n > blen)
		__chk_fail();
	return pread(fd, b, n, off);
}

EXPORT ssize_t __pread64_chk(int fd, void *b, size_t n, off64_t off, size_t blen)
{
	if (n > blen)
		__chk_fail();
	return pread64(fd, b, n, off);
}

EXPORT ssize_t __read(int fd, void *b, size_t n) { return read(fd, b, n); }
EXPORT ssize_t __write(int fd, const void *b, size_t n) { return write(fd, b, n); }
EXPORT int __close(int fd) { return close(fd); }
EXPORT int __connect(int fd, const struct sockaddr *a, socklen_t l) { return connect(fd, a, l); }
EXPORT ssize_t __send(int fd, const void *b, size_t n, int fl) { return send(fd, b, n, fl); }
EXPORT int __dup2(int old, int nw) { return dup2(old, nw); }
EXPORT int __poll(struct pollfd *p, nfds_t n, int ms) { return poll(p, n, ms); }

EXPORT int __fcntl(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	long arg = va_arg(ap, long);
	va_end(ap);
	return fcntl(fd, cmd, arg);
}

/* --- positioned reads and writes: ESPIPE on a socket ----------------------------- */

/* A socket has no position: ESPIPE, after the kernel's EINVAL for a
 * negative offset. */
static ssize_t zc__nopos(long long off)
{
	return zc__fail_with(off < 0 ? EINVAL : ESPIPE);
}

EXPORT ssize_t pread(int fd, void *b, size_t n, off_t off)
{
	zc__load();
	return zc__mine(fd) ? zc__nopos(off) : zc__real.pread(fd, b, n, off);
}

EXPORT ssize_t pread64(int fd, void *b, size_t n, off64_t off)
{
	zc__load();
	return zc__mine(fd) ? zc__nopos(off) : zc__real.pread64(fd, b, n, off);
}

EXPORT ssize_t pwrite(int fd, const void *b, size_t n, off_t off)
{
	zc__load();
	return zc__mine(fd) ? zc__nopos(off) : zc__real.pwrite(fd, b, n, off);
}

EXPORT ssize_t pwrite64(int fd, const void *b, size_t n, off64_t off)
{
	zc__load();
	return zc__mine(fd) ? zc__nopos(off) : zc__real.pwrite64(fd, b, n, off);
}

EXPORT ssize_t preadv(int fd, const struct iovec *v, int n, off_t off)
{
	zc__load();
	return zc__mine(fd) ? zc__nopos(off) : zc__real.preadv(fd, v, n, off);
}

EXPORT ssize_t preadv64(int fd, const struct iovec *v, int n, off64_t off)
{
	zc__load();
	return zc__mine(fd) ? zc__nopos(off) : zc__real.preadv64(fd, v, n, off);
}

EXPORT ssize_t pwritev(int fd, const struct iovec *v, int n, off_t off)
{
	zc__load();
	return zc__mine(fd) ? zc__nopos(off) : zc__real.pwritev(fd, v, n, off);
}

EXPORT ssize_t pwritev64(int fd, const struct iovec *v, int n, off64_t off)
{
	zc__load();
	return zc__mine(fd) ? zc__nopos(off) : zc__real.pwritev64(fd, v, n, off);
}

/* preadv2/pwritev2 on a stack socket: at offset -1 a readv/writev with the
 * flags the kernel's sockets look at, else no position. */
static ssize_t zc__rw2(int fd, const struct iovec *v, int n, long long off, int fl, bool wr)
{
	if (off != -1)
		return zc__nopos(off);
	if (n < 0 || n > UIO_MAXIOV)
		return zc__fail_with(EINVAL);
	struct msghdr m = { .msg_iov = (struct iovec *)v, .msg_iovlen = (size_t)n };
	int mf = (fl & RWF_NOWAIT) ? MSG_DONTWAIT : 0;
	if (wr) {
		mf |= (fl & RWF_NOSIGNAL) ? MSG_NOSIGNAL : 0;
		return ZC_CALL(zc_sendmsg(zc__cx, fd, &m, mf));
	}
	return ZC_CALL(zc_recvmsg(zc__cx, fd, &m, mf));
}

EXPORT ssize_t preadv2(int fd, const struct iovec *v, int n, off_t off, int fl)
{
	zc__load();
	return zc__mine(fd) ? zc__rw2(fd, v, n, off, fl, false) : zc__real.preadv2(fd, v, n, off, fl);
}

EXPORT ssize_t preadv64v2(int fd, const struct iovec *v, int n, off64_t off, int fl)
{
	zc__load();
	return zc__mine(fd) ? zc__rw2(fd, v, n, off, fl, false) : zc__real.preadv64v2(fd, v, n, off, fl);
}

EXPORT ssize_t pwritev2(int fd, const struct iovec *v, int n, off_t off, int fl)
{
	zc__load();
	return zc__mine(fd) ? zc__rw2(fd, v, n, off, fl, true) : zc__real.pwritev2(fd, v, n, off, fl);
}

EXPORT ssize_t pwritev64v2(int fd, const struct iovec *v, int n, off64_t off, int fl)
{
	zc__load();
	return zc__mine(fd) ? zc__rw2(fd, v, n, off, fl, true) : zc__real.pwritev64v2(fd, v, n, off, fl);
}

/* --- many messages at once ------------------------------------------------------- */

static size_t zc__iov_len(const struct msghdr *m)
{
	size_t t = 0;
	for (size_t i = 0; i < m->msg_iovlen; i++)
		t += m->msg_iov[i].iov_len;
	return t;
}

/* The kernel's loop (net/socket.c __sys_sendmmsg): each message a
 * sendmsg; a short one ends it; the count, or the first one's error. */
EXPORT int sendmmsg(int fd, struct mmsghdr *v, unsigned int n, int fl)
{
	zc__load();
	if (!zc__mine(fd))
		return zc__real.sendmmsg(fd, v, n, fl);
	if (n > UIO_MAXIOV)
		n = UIO_MAXIOV;
	unsigned int i = 0;
	while (i < n) {
		struct msghdr *m = &v[i].msg_hdr;
		ssize_t r = zc__sent(fd, ZC_CALL(zc_sendmsg(zc__cx, fd, m, fl)), m->msg_name, m->msg_namelen);
		if (r < 0)
			return i ? (int)i : -1;
		v[i++].msg_len = (unsigned int)r;
		if ((size_t)r < zc__iov_len(m))
			break;
	}
	return (int)i;
}

static long long zc__mono_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* The kernel's loop (do_recvmmsg): each message a recvmsg (an end of
 * stream counts as one of length 0); after the first MSG_WAITFORONE
 * waits no more; the timeout is looked at after each message (a wait for
 * one is not cut short, as in the kernel) and left holding what remains.
 * An error after some messages returns their count (the kernel keeps it
 * for the next call; a stack socket's error is still there then). */
EXPORT int recvmmsg(int fd, struct mmsghdr *v, unsigned int n, int fl, struct timespec *tmo)
{
	zc__load();
	if (!zc__mine(fd))
		return zc__real.recvmmsg(fd, v, n, fl, tmo);
	long long end = 0;
	if (tmo) {
		if (tmo->tv_sec < 0 || tmo->tv_nsec < 0 || tmo->tv_nsec >= 1000000000)
			return (int)zc__fail_with(EINVAL);
		end = zc__mono_ns() + (long long)tmo->tv_sec * 1000000000 + tmo->tv_nsec;
	}
	if (n > UIO_MAXIOV)
		n = UIO_MAXIOV;
	unsigned int i = 0;
	int err = 0;
	while (i < n) {
		ssize_t r = ZC_CALL(zc_recvmsg(zc__cx, fd, &v[i].msg_hdr, fl & ~MSG_WAITFORONE));
		if (r < 0) {
			err = errno;
			break;
		}
		v[i++].msg_len = (unsigned int)r;
		if (fl & MSG_WAITFORONE)
			fl |= MSG_DONTWAIT;
		if (tmo) {
			long long left = end - zc__mono_ns();
			if (left < 0)
				left = 0;
			tmo->tv_sec = (time_t)(left / 1000000000);
			tmo->tv_nsec = (long)(left % 1000000000);
			if (left == 0)
				break;
		}
		if (v[i - 1].msg_hdr.msg_flags & MSG_OOB)
			break;
	}
	if (i == 0 && err)
		return (int)zc__fail_with(err);
	return (int)i;
}

/* --- splice, tee, vmsplice, sendfile: a bounce buffer --------------------------- */

/* All of b[0, n) into the stack socket fd, waiting for room as long as it
 * takes even on a non-blocking socket: the bytes were taken from a pipe or
 * a file and cannot go back. Bytes sent, or -1 when none went. */
static ssize_t zc__send_all(int fd, const char *b, size_t n, int fl)
{
	size_t done = 0;
	while (done < n) {
		ssize_t w = ZC_CALL(zc_send(zc__cx, fd, b + done, n - done, fl));
		if (w > 0) {
			done += (size_t)w;
			continue;
		}
		if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };
			if (ZC_CALL(zc_poll(zc__cx, &p, 1, -1)) >= 0 || errno == EINTR)
				continue;
		}
		break;
	}
	return done ? (ssize_t)done : -1;
}

/* A non-blocking stack socket that has no room takes nothing (EAGAIN),
 * before anything is taken from the source. */
static bool zc__send_room(int fd)
{
	if ((ZC_CALL(zc_fcntl(zc__cx, fd, F_GETFL, 0)) & O_NONBLOCK) == 0)
		return true;
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	return ZC_CALL(zc_poll(zc__cx, &p, 1, 0)) != 0; /* ready, or an error to meet in send */
}

/* All of b[0, n) into the pipe, which has room for it (only a writer
 * racing us could fill it: then we wait). */
static void zc__pipe_put(int p, const char *b, size_t n)
{
	size_t done = 0;
	while (done < n) {
		ssize_t w = zc__real.write(p, b + done, n - done);
		if (w > 0) {
			done += (size_t)w;
		} else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			struct pollfd q = { .fd = p, .events = POLLOUT };
			zc__real.poll(&q, 1, -1);
		} else {
			return; /* the reader went: the kernel's splice would lose them too (EPIPE) */
		}
	}
}

/* stack socket -> pipe: as much as the pipe has room for, read once. */
static ssize_t zc__splice_out(int s, int p, size_t len, bool nb)
{
	char buf[ZC__PIECE];
	size_t room = 0;
	for (;;) {
		int cap = zc__real.fcntl(p, F_GETPIPE_SZ), used = 0;
		if (cap < 0 || zc__real.ioctl(p, FIONREAD, &used) < 0)
			return -1;
		if (cap > used) {
			room = (size_t)(cap - used);
			break;
		}
		if (nb)
			return zc__fail_with(EAGAIN);
		struct pollfd q = { .fd = p, .events = POLLOUT };
		if (zc__real.poll(&q, 1, -1) < 0)
			return -1;
	}
	size_t k = len < room ? len : room;
	ssize_t r = ZC_CALL(zc_recv(zc__cx, s, buf, k < sizeof(buf) ? k : sizeof(buf), 0));
	if (r > 0)
		zc__pipe_put(p, buf, (size_t)r);
	return r;
}

/* pipe -> stack socket: what the pipe holds, up to a piece, all sent. */
static ssize_t zc__splice_in(int p, int s, size_t len, bool nb, unsigned int fl)
{
	char buf[ZC__PIECE];
	struct pollfd q = { .fd = p, .events = POLLIN };
	int k = zc__real.poll(&q, 1, nb ? 0 : -1);
	if (k < 0)
		return -1;
	if (k == 0)
		return zc__fail_with(EAGAIN);
	if (!(q.revents & POLLIN))
		return 0; /* no writer and empty: the end */
	if (!zc__send_room(s))
		return zc__fail_with(EAGAIN);
	ssize_t r = zc__real.read(p, buf, len < sizeof(buf) ? len : sizeof(buf));
	if (r <= 0)
		return r;
	return zc__send_all(s, buf, (size_t)r, (fl & SPLICE_F_MORE) ? MSG_MORE : 0);
}

EXPORT ssize_t splice(int in, off64_t *oin, int out, off64_t *oout, size_t len, unsigned int fl)
{
	zc__load();
	bool mi = zc__mine(in), mo = zc__mine(out);
	if (!mi && !mo)
		return zc__real.splice(in, oin, out, oout, len, fl);
	/* the kernel's order of checks (fs/splice.c) */
	if (len == 0)
		return 0;
	if (fl & ~(unsigned int)(SPLICE_F_MOVE | SPLICE_F_NONBLOCK | SPLICE_F_MORE | SPLICE_F_GIFT))
		return zc__fail_with(EINVAL);
	int other = mi ? out : in;
	int acc = zc__real.fcntl(other, F_GETFL);
	if (acc < 0)
		return -1;
	if ((acc & O_ACCMODE) == (mi ? O_RDONLY : O_WRONLY))
		return zc__fail_with(EBADF);
	struct stat st;
	if (mi && mo)
		return zc__fail_with(EINVAL); /* no pipe at either end */
	if (fstat(other, &st) != 0)
		return -1;
	if (!S_ISFIFO(st.st_mode))
		return zc__fail_with(EINVAL);
	if (mi ? oout != NULL : oin != NULL)
		return zc__fail_with(ESPIPE); /* an offset on the pipe */
	if (mi ? oin != NULL : oout != NULL)
		return zc__fail_with(EINVAL); /* an offset on the socket */
	bool nb = (fl & SPLICE_F_NONBLOCK) || (acc & O_NONBLOCK);
	return mi ? zc__splice_out(in, out, len, nb) : zc__splice_in(in, out, len, nb, fl);
}

EXPORT ssize_t tee(int in, int out, size_t len, unsigned int fl)
{
	zc__load();
	if (!zc__mine(in) && !zc__mine(out))
		return zc__real.tee(in, out, len, fl);
	return len == 0 ? 0 : zc__fail_with(EINVAL); /* both ends must be pipes */
}

EXPORT ssize_t vmsplice(int fd, const struct iovec *v, size_t n, unsigned int fl)
{
	zc__load();
	return zc__mine(fd) ? zc__fail_with(EBADF) : zc__real.vmsplice(fd, v, n, fl); /* not a pipe */
}

/* sendfile into a stack socket: read the source, send what was read, a
 * piece at a time, each piece whole (it cannot go back into a pipe). A
 * non-blocking socket without room takes nothing (EAGAIN) and ends the
 * call after a piece, so the call does not wait long where the kernel's
 * would not wait. */
static ssize_t zc__sendfile(int out, int in, off_t *off, size_t count)
{
	char buf[ZC__PIECE];
	if (zc__mine(in))
		return zc__fail_with(EINVAL); /* the kernel reads no socket either */
	if (off && *off < 0)
		return zc__fail_with(EINVAL);
	if (count > 0x7ffff000) /* MAX_RW_COUNT */
		count = 0x7ffff000;
	size_t done = 0;
	off_t pos = off ? *off : 0;
	while (done < count) {
		if (!zc__send_room(out)) {
			if (done == 0)
				return zc__fail_with(EAGAIN);
			break;
		}
		size_t k = count - done < sizeof(buf) ? count - done : sizeof(buf);
		ssize_t r = off ? zc__real.pread(in, buf, k, pos) : zc__real.read(in, buf, k);
		if (r <= 0) {
			if (r < 0 && done == 0)
				return -1;
			break;
		}
		ssize_t w = zc__send_all(out, buf, (size_t)r, 0);
		if (w < 0) {
			if (!off) /* what was read goes back into a file that can seek */
				lseek(in, -(off_t)r, SEEK_CUR);
			if (done == 0)
				return -1;
			break;
		}
		done += (size_t)w;
		pos += w;
		if (w < r)
			break; /* send_all sends all or fails */
	}
	if (off)
		*off = pos;
	return (ssize_t)done;
}

EXPORT ssize_t sendfile(int out, int in, off_t *off, size_t count)
{
	zc__load();
	return zc__mine(out) || zc__mine(in) ? zc__sendfile(out, in, off, count)
					     : zc__real.sendfile(out, in, off, count);
}

EXPORT ssize_t sendfile64(int out, int in, off64_t *off, size_t count)
{
	return sendfile(out, in, (off_t *)off, count);
}

/* --- fdopen: a stdio stream over a stack socket ---------------------------------- */

static ssize_t zc__ck_read(void *c, char *b, size_t n)
{
	return read((int)(intptr_t)c, b, n);
}

/* stdio takes a short write as an error: all of it, or what went and the error */
static ssize_t zc__ck_write(void *c, const char *b, size_t n)
{
	size_t done = 0;
	while (done < n) {
		ssize_t w = write((int)(intptr_t)c, b + done, n - done);
		if (w <= 0) {
			if (w < 0 && errno == EINTR)
				continue;
			return done ? (ssize_t)done : -1;
		}
		done += (size_t)w;
	}
	return (ssize_t)done;
}

static int zc__ck_seek(void *c, off64_t *o, int whence)
{
	(void)c, (void)o, (void)whence;
	errno = ESPIPE;
	return -1;
}

static int zc__ck_close(void *c)
{
	return close((int)(intptr_t)c);
}

EXPORT FILE *fdopen(int fd, const char *mode)
{
	zc__load();
	if (!zc__mine(fd))
		return zc__real.fdopen(fd, mode);
	if (mode == NULL || (mode[0] != 'r' && mode[0] != 'w' && mode[0] != 'a')) {
		errno = EINVAL;
		return NULL;
	}
	if (zc__real.fcntl(fd, F_GETFL) < 0)
		return NULL;
	FILE *f = fopencookie((void *)(intptr_t)fd, mode,
			      (cookie_io_functions_t){ .read = zc__ck_read, .write = zc__ck_write,
						       .seek = zc__ck_seek, .close = zc__ck_close });
	if (f)
		f->_fileno = fd; /* fileno() is the socket's number; glibc's cookie streams keep -2 */
	return f;
}

/* --- POSIX AIO: not carried ------------------------------------------------------- */

static int zc__aio_refuse(int fd, const char *call, uint64_t kind)
{
	zc_bypass(zc__bypass, ZC_BYPASS_CALL, kind, "%s(fd %d) on a stack socket: glibc's AIO threads "
		  "read and write the kernel's placeholder behind the descriptor, not the connection: refused "
		  "with ENOSYS; read and write it with poll or epoll instead", call, fd);
	errno = ENOSYS;
	return -1;
}

EXPORT int aio_read(struct aiocb *a)
{
	zc__load();
	return zc__mine(a->aio_fildes) ? zc__aio_refuse(a->aio_fildes, "aio_read", 1) : zc__real.aio_read(a);
}

EXPORT int aio_write(struct aiocb *a)
{
	zc__load();
	return zc__mine(a->aio_fildes) ? zc__aio_refuse(a->aio_fildes, "aio_write", 2) : zc__real.aio_write(a);
}

EXPORT int aio_read64(struct aiocb64 *a)
{
	zc__load();
	return zc__mine(a->aio_fildes) ? zc__aio_refuse(a->aio_fildes, "aio_read", 1) : zc__real.aio_read64(a);
}

EXPORT int aio_write64(struct aiocb64 *a)
{
	zc__load();
	return zc__mine(a->aio_fildes) ? zc__aio_refuse(a->aio_fildes, "aio_write", 2) : zc__real.aio_write64(a);
}

/* a list with a stack socket in it is refused whole, before any request starts */
EXPORT int lio_listio(int mode, struct aiocb *const l[], int n, struct sigevent *ev)
{
	zc__load();
	for (int i = 0; i < n; i++)
		if (l[i] && l[i]->aio_lio_opcode != LIO_NOP && zc__mine(l[i]->aio_fildes))
			return zc__aio_refuse(l[i]->aio_fildes, "lio_listio", 3);
	return zc__real.lio_listio(mode, l, n, ev);
}

EXPORT int lio_listio64(int mode, struct aiocb64 *const l[], int n, struct sigevent *ev)
{
	zc__load();
	for (int i = 0; i < n; i++)
		if (l[i] && l[i]->aio_lio_opcode != LIO_NOP && zc__mine(l[i]->aio_fildes))
			return zc__aio_refuse(l[i]->aio_fildes, "lio_listio", 3);
	return zc__real.lio_listio64(mode, l, n, ev);
}

/*
 * zcx.c - the zero-copy extensions' entry points in libzcstack (zcx.h says
 * what they do): each finds the open context whose socket fd is in the
 * registry (ext_priv.h) and makes the socket.h call on it.
 *
 * A context must not be closed while a call on one of its sockets runs,
 * as for every socket.h call. libzcpreload.so defines the same entry points
 * on the shim's context (preload_zcx.c); no build links both files.
 */
#include "sockapi/zcx.h"
#include "sockapi/ext_priv.h"

#include <errno.h>

static bool zc__owns(struct zc_sockctx *cx, void *fd) { return zc_is_socket(cx, *(int *)fd); }

/* The context whose socket fd is; NULL with errno EBADF. */
static struct zc_sockctx *zc__owner(int fd)
{
	struct zc_sockctx *cx = fd >= 0 ? zc__ext_find(zc__owns, &fd) : NULL;
	if (cx == NULL)
		errno = EBADF;
	return cx;
}

int zc_ext_abi(void) { return ZCX_ABI; }

ssize_t zc_ext_recv_zc(int fd, struct zc_rxzc *z, size_t max, int flags)
{
	struct zc_sockctx *cx = zc__owner(fd);
	if (cx == NULL) {
		z->iovcnt = 0;
		z->priv = NULL;
		return -1;
	}
	return zc_recv_zc(cx, fd, z, max, flags);
}

int zc_ext_recv_zc_done(int fd, struct zc_rxzc *z)
{
	if (z->priv == NULL) /* nothing held */
		return 0;
	struct zc_sockctx *cx = zc__owner(fd);
	if (cx == NULL)
		return -1;
	zc_recv_zc_done(cx, z);
	return 0;
}

int zc_ext_zstats(int fd, struct zc_zstats *out)
{
	struct zc_sockctx *cx = zc__owner(fd);
	return cx ? zc_sock_zstats(cx, fd, out) : -1;
}

int zc_ext_ctx_zstats(int fd, struct zc_zstats *out)
{
	struct zc_sockctx *cx = zc__owner(fd);
	return cx ? zc_sock_zstats(cx, -1, out) : -1;
}

struct zc__range {
	const void *addr;
	size_t len;
};

static void zc__release_in(struct zc_sockctx *cx, void *arg)
{
	const struct zc__range *r = arg;
	zc_release_range(cx, r->addr, r->len);
}

int zc_ext_release_range(const void *addr, size_t len)
{
	zc__ext_each(zc__release_in, &(struct zc__range){ addr, len });
	return 0;
}

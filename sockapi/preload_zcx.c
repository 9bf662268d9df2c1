/*
 * preload_zcx.c - the zero-copy extensions' entry points in the shim
 * (zcx.h says what they do), exported beside the libc names so that an
 * unmodified program's zcx_* calls find them at run time: they act on the
 * shim's context, on its descriptors only (EBADF for any other). libzcstack
 * defines the same names over its registry of contexts (zcx.c); no build
 * links both files.
 */
#include "sockapi/preload_priv.h"
#include "sockapi/zcx.h"

#include <errno.h>

EXPORT int zc_ext_abi(void) { return ZCX_ABI; }

EXPORT ssize_t zc_ext_recv_zc(int fd, struct zc_rxzc *z, size_t max, int flags)
{
	zc__load();
	if (!zc__mine(fd)) {
		z->iovcnt = 0;
		z->priv = NULL;
		errno = EBADF;
		return -1;
	}
	return ZC_CALL(zc_recv_zc(zc__cx, fd, z, max, flags));
}

EXPORT int zc_ext_recv_zc_done(int fd, struct zc_rxzc *z)
{
	zc__load();
	if (z->priv == NULL) /* nothing held */
		return 0;
	if (!zc__mine(fd)) {
		errno = EBADF;
		return -1;
	}
	zc__inside++;
	zc_recv_zc_done(zc__cx, z);
	zc__inside--;
	return 0;
}

EXPORT int zc_ext_zstats(int fd, struct zc_zstats *out)
{
	zc__load();
	if (!zc__mine(fd)) {
		errno = EBADF;
		return -1;
	}
	return ZC_CALL(zc_sock_zstats(zc__cx, fd, out));
}

EXPORT int zc_ext_ctx_zstats(int fd, struct zc_zstats *out)
{
	zc__load();
	if (!zc__mine(fd)) {
		errno = EBADF;
		return -1;
	}
	return ZC_CALL(zc_sock_zstats(zc__cx, -1, out));
}

EXPORT int zc_ext_release_range(const void *addr, size_t len)
{
	zc__load();
	if (!zc__inside && atomic_load_explicit(&zc__state, memory_order_acquire) > 0)
		ZC_CALL(zc_release_range(zc__cx, addr, len));
	return 0;
}

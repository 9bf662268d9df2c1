/*
 * attach.c - a port's life on the wire: open creates the wire's file (or
 * opens it and waits until its creator has initialised it), claims the
 * port under the file lock and carves the port's pool out of the file;
 * close leaves it. A port whose previous owner left in order (clean) is
 * taken over with the frames that owner listed in its ownership map; one
 * whose owner died while the peer lives cannot be (its frames are lost),
 * and a wire with nobody alive on it starts afresh. The last port to leave
 * removes the file.
 */
#include "stack/fdhigh.h"
#include "nic/trapeze/trapeze_priv.h"
#include "stack/arena.h"
#include "stack/log.h"
#include "stack/wire.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ZC__TZ_DEFAULT_FRAMES 16384u /* trapeze.h: nframes 0 */
/* At least a full-MTU packet's pages posted by each port (a port posts a
 * quarter of the wire's frames, half of its own). */
#define ZC__TZ_MIN_FRAMES (4 * ZC_TRAPEZE_MAX_PAGES)
#define ZC__TZ_MAX_FRAMES (1u << 22) /* a bound on the file: 16 GiB of 4 KiB frames */
#define ZC__TZ_IP_MTU_MAX 65535u     /* an IPv4 packet's total length is 16 bits */
#define ZC__TZ_INIT_WAIT_MS 2000     /* for another process to initialise the file */
/* The receive placement pool's mbuf headers: references into each 2 MiB
 * frame (32 pulls of 64 KiB fill one; room for twice as many pieces), and
 * spares. */
#define ZC__TZ_RXP_MBUFS_PER_FRAME 64u
#define ZC__TZ_RXP_MBUFS_SPARE 256u
/* Leaving while the peer stays (zc__leave_clean): naps of 0.2 ms, up to
 * 200 ms for the peer's transmit burst to end and 1 s for it to read what
 * we sent; received packets are drained in bursts of 32. */
#define ZC__TZ_LEAVE_NAP_NS 200000
#define ZC__TZ_LEAVE_BURST_NAPS 1000
#define ZC__TZ_LEAVE_READ_NAPS 5000
#define ZC__TZ_DRAIN_BURST 32

static bool zc__name_ok(const char *n)
{
	size_t len = strlen(n);
	if (len == 0 || len > ZC_TRAPEZE_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = n[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.'))
			return false;
	}
	return n[0] != '.';
}

int zc_trapeze_unlink(const char *name)
{
	char path[ZC__TZ_PATH_MAX];
	if (!zc__name_ok(name))
		return -EINVAL;
	snprintf(path, sizeof(path), ZC__TZ_PATH_FMT, name);
	return unlink(path) == 0 ? 0 : -errno;
}

static uint64_t *zc__map_port(struct zc__trapeze *t, uint32_t nframes, uint64_t frames_off, int port,
			      void **base, size_t *len)
{
	size_t page = t->page, start = zc__tz_maps_off(frames_off, nframes, page);
	*len = zc__tz_maps_len(nframes, page);
	*base = mmap(NULL, *len, PROT_READ | PROT_WRITE, MAP_SHARED, t->fd, (off_t)start);
	if (*base == MAP_FAILED)
		return NULL;
	return zc__tz_map_of(*base, nframes, port);
}

/* Wait (up to 2 s) for another process to finish initialising the file. */
static int zc__wait_init(int fd, size_t need)
{
	for (int i = 0; i < ZC__TZ_INIT_WAIT_MS; i++) {
		struct stat st;
		if (fstat(fd, &st) != 0)
			return -errno;
		if ((size_t)st.st_size >= need && zc__tz_file_ready(fd))
			return 0;
		struct timespec ts = { 0, 1000000 }; /* 1 ms */
		nanosleep(&ts, NULL);
	}
	return -ETIMEDOUT;
}

static void zc__unmap_sh(struct zc__trapeze *t)
{
	if (t->arena)
		zc_arena_unmap(t->arena, t->sh);
	else
		munmap(t->sh, t->sh_len);
}

/* Receive by reference: the free ids. */
static void zc__open_refs(struct zc__trapeze *t, bool on)
{
	t->ref_tx = t->ref_rx = on;
	t->nif.caps.rx_ref = on;
	for (uint32_t i = 0; i < ZC__TZ_REFS; i++)
		t->ref_free[i] = ZC__TZ_REFS - 1 - i;
	t->nref_free = ZC__TZ_REFS;
}

static void zc__close_refs(struct zc__trapeze *t)
{
	for (uint32_t i = 0; i < ZC__TZ_REFS; i++) {
		zc_mbuf_free(t->refs[i]);
		t->refs[i] = NULL;
	}
	t->nref_free = 0;
}

/* Our FIFO goes, if the name is still ours (not a newer wire's). */
static void zc__irq_unlink(struct zc__trapeze *t)
{
	struct stat a, b;
	if (fstat(t->efd, &a) == 0 && stat(t->irq_path, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev)
		unlink(t->irq_path);
}

/* This port's interrupt: a FIFO made afresh (a previous claim's is
 * replaced), writable by any user, so that a peer whose processes changed
 * user (nginx's workers) can still wake it; opened read-write, so that it
 * never reads EOF and a writer never finds it without a reader. The fd, or
 * -1 with errno set and a message. */
static int zc__irq_create(const char *path)
{
	unlink(path);
	int fd = -1;
	if (mkfifo(path, 0600) != 0 || chmod(path, 0622) != 0 ||
	    (fd = zc_fd_high(open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC))) < 0) {
		int err = errno;
		ZC_ERR("trapeze: cannot make the interrupt FIFO %s: %s", path, strerror(err));
		unlink(path);
		errno = err;
	}
	return fd;
}

/* Check a configuration and work out its MTU and frame count; 0 or an errno
 * value, logged. */
static int zc__config_check(const struct zc_trapeze_config *cfg, uint32_t page, uint32_t *mtu_out,
			    uint32_t *nframes_out)
{
	if (cfg == NULL || cfg->name == NULL) {
		ZC_ERR("trapeze: no wire name given");
		return EINVAL;
	}
	if (strlen(cfg->name) > ZC_TRAPEZE_NAME_MAX) {
		ZC_ERR("trapeze: wire name '%.40s...' is longer than %u characters", cfg->name,
		       ZC_TRAPEZE_NAME_MAX);
		return ENAMETOOLONG;
	}
	if (!zc__name_ok(cfg->name)) {
		ZC_ERR("trapeze: wire name '%s' must be letters, digits, '_', '-' or '.'", cfg->name);
		return EINVAL;
	}
	if (cfg->port != 0 && cfg->port != 1) {
		ZC_ERR("trapeze: port %d: a wire has ports 0 and 1", cfg->port);
		return EINVAL;
	}
	uint32_t mtu = cfg->mtu ? cfg->mtu : ZC_TRAPEZE_MAX_PAGES * page;
	if (mtu % page || mtu > ZC_TRAPEZE_MAX_PAGES * page) {
		ZC_ERR("trapeze: MTU %u: the payload must be a whole number of %u-byte pages, at most %u",
		       mtu, page, ZC_TRAPEZE_MAX_PAGES * page);
		return EINVAL;
	}
	uint32_t nframes = cfg->nframes ? cfg->nframes : ZC__TZ_DEFAULT_FRAMES;
	if (nframes < ZC__TZ_MIN_FRAMES || nframes > ZC__TZ_MAX_FRAMES || nframes % 2) {
		ZC_ERR("trapeze: %u frames: need an even number between %u and %u", nframes,
		       ZC__TZ_MIN_FRAMES, ZC__TZ_MAX_FRAMES);
		return EINVAL;
	}
	*mtu_out = mtu;
	*nframes_out = nframes;
	return 0;
}

/* The receive placement pool (rx_huge 2 MiB frames); none when the machine
 * has no 2 MiB frames. */
static void zc__open_placement(struct zc__trapeze *t, uint32_t rx_huge)
{
	char pname[64];
	snprintf(pname, sizeof(pname), "%s-rx", t->nif.name);
	t->rxp = zc_pool_create(&(struct zc_pool_config){ .name = pname, .nframes = rx_huge,
							  .nmbufs = ZC__TZ_RXP_MBUFS_PER_FRAME * rx_huge +
								    ZC__TZ_RXP_MBUFS_SPARE,
							  .huge = true, .fd = -1, .arena = t->arena });
	if (t->rxp && zc_pool_frame_size(t->rxp) != ZC_HUGE_FRAME) {
		ZC_INFO("trapeze %s: no 2 MiB frames on this machine: receive placement is off",
			t->nif.name);
		zc_pool_destroy(t->rxp);
		t->rxp = NULL;
	}
	t->nif.rx_pool = t->rxp;
}

static void zc__tz_free(struct zc__trapeze *t)
{
	if (t->arena)
		zc_arena_free(t->arena, t);
	else
		free(t);
}

struct zc_netif *zc_trapeze_open(const struct zc_trapeze_config *cfg)
{
	const uint32_t page = (uint32_t)sysconf(_SC_PAGESIZE);
	uint32_t mtu = 0, nframes = 0;
	int err = zc__config_check(cfg, page, &mtu, &nframes);
	if (err)
		goto fail_early;

	struct zc__trapeze *t = cfg->arena ? zc_arena_zalloc(cfg->arena, sizeof(*t)) : calloc(1, sizeof(*t));
	if (t == NULL) {
		err = ENOMEM;
		goto fail_early;
	}
	t->arena = cfg->arena;
	t->fd = -1;
	t->efd = -1;
	t->page = page;
	snprintf(t->path, sizeof(t->path), ZC__TZ_PATH_FMT, cfg->name);
	snprintf(t->irq_path, sizeof(t->irq_path), ZC__TZ_IRQ_FMT, t->path, cfg->port);
	snprintf(t->peer_irq_path, sizeof(t->peer_irq_path), ZC__TZ_IRQ_FMT, t->path, 1 - cfg->port);
	snprintf(t->nif.name, sizeof(t->nif.name), "trapeze:%s/%d", cfg->name, cfg->port);
	size_t sh_len = zc__tz_shared_len(page);
	bool created = false;

	t->fd = zc_fd_high(open(t->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
	if (t->fd >= 0) {
		created = true;
		if (ftruncate(t->fd, (off_t)zc__tz_file_len(page, nframes)) != 0) {
			err = errno;
			unlink(t->path);
			ZC_ERR("trapeze: cannot size %s: %s", t->path, strerror(err));
			goto fail;
		}
	} else if (errno == EEXIST) {
		t->fd = zc_fd_high(open(t->path, O_RDWR | O_CLOEXEC));
		if (t->fd < 0 || (err = -zc__wait_init(t->fd, sh_len)) != 0) {
			if (t->fd < 0)
				err = errno;
			ZC_ERR("trapeze: cannot open wire %s: %s", t->path, strerror(err));
			goto fail;
		}
	} else {
		err = errno;
		ZC_ERR("trapeze: cannot create %s: %s", t->path, strerror(err));
		goto fail;
	}
	t->sh = t->arena ? zc_arena_map(t->arena, sh_len, page, PROT_READ | PROT_WRITE, t->fd, 0)
			 : mmap(NULL, sh_len, PROT_READ | PROT_WRITE, MAP_SHARED, t->fd, 0);
	if (t->sh == MAP_FAILED) {
		err = errno;
		t->sh = NULL;
		ZC_ERR("trapeze: cannot map %s: %s", t->path, strerror(err));
		goto fail;
	}
	t->sh_len = sh_len;
	struct zc__tz_shared *sh = t->sh;
	flock(t->fd, LOCK_EX);
	if (created) {
		zc__tz_shared_init(sh, page, mtu, nframes);
	} else if (zc__tz_version(sh) != ZC__TZ_VERSION || zc__tz_page_size(sh) != page ||
		   (cfg->mtu && zc__tz_mtu(sh) != mtu) || (cfg->nframes && zc__tz_nframes(sh) != nframes)) {
		ZC_ERR("trapeze: wire %s exists with version %u, MTU %u, %u frames; asked MTU %u, %u frames",
		       t->path, zc__tz_version(sh), zc__tz_mtu(sh), zc__tz_nframes(sh), mtu, nframes);
		err = EINVAL;
		flock(t->fd, LOCK_UN);
		goto fail;
	}
	t->port = cfg->port;
	t->me = zc__tz_port(sh, cfg->port);
	t->peer = zc__tz_port(sh, 1 - cfg->port);
	int32_t mine = zc__tz_owner(t->me, memory_order_seq_cst);
	int32_t theirs = zc__tz_owner(t->peer, memory_order_seq_cst);
	if (zc__pid_alive(mine)) {
		ZC_ERR("trapeze: port %d of wire '%s' is already claimed by pid %d", cfg->port, cfg->name,
		       mine);
		err = EBUSY;
		flock(t->fd, LOCK_UN);
		goto fail;
	}
	void *map_base = NULL;
	size_t map_len = 0;
	const uint64_t *own_map = NULL;
	if (!zc__pid_alive(theirs)) {
		zc__tz_reset_ports(sh); /* nobody alive on the wire: start it afresh */
	} else if (mine == 0 && zc__tz_clean(t->me) == 1) {
		/* the previous owner left in order: take over its frames */
		own_map = zc__map_port(t, zc__tz_nframes(sh), zc__tz_frames_off(sh), cfg->port, &map_base, &map_len);
		if (own_map == NULL) {
			err = errno;
			ZC_ERR("trapeze: cannot map the ownership map of %s: %s", t->path, strerror(err));
			flock(t->fd, LOCK_UN);
			goto fail;
		}
	} else if (mine != 0 || zc__tz_rx_head(t->me, memory_order_seq_cst) != 0 ||
		   zc__tz_post_head(t->me, memory_order_seq_cst) != 0) {
		ZC_ERR("trapeze: port %d of wire '%s' was used by a process that did not close it (it "
		       "died?) and its peer (pid %d) is still attached; its frames cannot be recovered: "
		       "restart both ends",
		       cfg->port, cfg->name, theirs);
		err = EBUSY;
		flock(t->fd, LOCK_UN);
		goto fail;
	}
	t->efd = zc__irq_create(t->irq_path);
	if (t->efd >= 0 && t->arena)
		zc_arena_keep_fd(t->arena, t->efd, 1); /* an exec'd image needs it too */
	struct zc_pool_config pc = {
		.name = t->nif.name,
		.nframes = zc__tz_nframes(sh),
		.fd = t->fd,
		.offset = zc__tz_frames_off(sh),
		.own_first = cfg->port ? zc__tz_nframes(sh) / 2 : 0,
		.own_count = zc__tz_nframes(sh) / 2,
		.own_map = own_map,
		.arena = t->arena,
	};
	t->nif.pool = t->efd >= 0 ? zc_pool_create(&pc) : NULL;
	if (own_map && t->nif.pool) {
		/* frames still posted to the peer stay posted (in flight) */
		uint32_t first, n = zc__tz_post_pending(t->me, &first);
		for (uint32_t i = first; i != first + n; i++) {
			uint32_t f = zc__tz_post_get(t->me, i);
			if (f < zc__tz_nframes(sh))
				zc_pool_adopt_frame(t->nif.pool, f);
		}
		zc__tz_set_clean(t->me, 0);
		zc__tz_set_sleeping(t->me, 0);
	}
	if (map_base)
		munmap(map_base, map_len);
	if (t->nif.pool == NULL) {
		err = errno;
		flock(t->fd, LOCK_UN);
		goto fail;
	}
	zc__tz_bump_gen(t->me);
	zc__tz_set_owner(t->me, (int32_t)getpid());
	t->reaped = zc__tz_rx_head(t->peer, memory_order_seq_cst);
	t->peer_tail = zc__tz_rx_tail(t->peer, memory_order_seq_cst);
	t->peer_phead = zc__tz_post_head(t->peer, memory_order_seq_cst);
	t->ret_tail = zc__tz_ret_head(t->peer, memory_order_seq_cst);
	flock(t->fd, LOCK_UN);

	t->nif.ops = &zc__tz_ops;
	t->nif.caps = (struct zc_netif_caps){
		.mtu = ZC_TRAPEZE_CTRL_MAX - ZC_ETH_HLEN + zc__tz_mtu(sh) > ZC__TZ_IP_MTU_MAX
			       ? ZC__TZ_IP_MTU_MAX
			       : ZC_TRAPEZE_CTRL_MAX - ZC_ETH_HLEN + zc__tz_mtu(sh),
		.max_hdr = ZC_TRAPEZE_CTRL_MAX,
		.page_size = page,
		.hdr_split = true,
		/* checksum offload, as Trapeze's Myrinet firmware did: the NIC sums
		 * while it copies (or reads) the payload and the receiver trusts it */
		.rx_csum = true,
		.tx_csum = true,
	};
	if (cfg->mac)
		memcpy(t->nif.mac, cfg->mac, 6);
	else
		/* 02: locally administered, unicast; 7a:63 is "zc" */
		memcpy(t->nif.mac, (uint8_t[6]){ 0x02, 0x7a, 0x63, 0, 0, (uint8_t)(cfg->port + 1) }, 6);
	t->nframes = zc__tz_nframes(sh);
	t->maxpages = zc__tz_mtu(sh) / page;
	t->rate_bps = cfg->rate_bps;
	t->delay_ns = cfg->delay_ns;
	/* a port posts half of the frames it owns (its half of the wire) */
	uint32_t half = zc__tz_nframes(sh) / 2;
	t->post_target = half / 2 < ZC__TZ_POST_RING - 1 ? half / 2 : ZC__TZ_POST_RING - 1;
	zc__refill(t);
	zc__open_refs(t, !cfg->no_ref);
	if (cfg->rx_huge)
		zc__open_placement(t, cfg->rx_huge);
	return &t->nif;
fail:
	if (t->sh)
		zc__unmap_sh(t);
	if (t->fd >= 0)
		close(t->fd);
	if (t->efd >= 0) {
		if (t->arena)
			zc_arena_keep_fd(t->arena, t->efd, 0);
		close(t->efd);
		unlink(t->irq_path);
	}
	zc__tz_free(t);
fail_early:
	errno = err;
	return NULL;
}

/* Frames this port posted, or traded away in descriptors it has not read:
 * back to the pool's accounting, as the port leaves the wire. */
static void zc__return_posted(struct zc__trapeze *t)
{
	struct zc_pool *pool = t->nif.pool;
	uint32_t first, n = zc__tz_post_pending(t->me, &first);
	for (uint32_t i = first; i != first + n; i++) {
		uint32_t f = zc__tz_post_get(t->me, i);
		if (zc_pool_owns(pool, f) && zc_pool_frame_refcnt(pool, f) == 1)
			zc_pool_frame_put(pool, f);
	}
	/* the receive ring's head is the peer's to write: at most a ring's worth */
	uint32_t tail = zc__tz_rx_tail(t->me, memory_order_seq_cst);
	uint32_t h = zc__tz_rx_head(t->me, memory_order_seq_cst);
	if (h - tail > ZC__TZ_RX_RING)
		h = tail + ZC__TZ_RX_RING;
	for (uint32_t i = tail; i != h; i++) {
		const struct zc__tz_desc *d = zc__tz_rx_slot(t->me, i);
		for (unsigned k = 0; k < zc__tz_desc_npages(d); k++) {
			uint32_t f = zc__tz_desc_own_frame(d, k);
			if (f < t->nframes && zc_pool_owns(pool, f) && zc_pool_frame_refcnt(pool, f) == 1)
				zc_pool_frame_put(pool, f);
		}
	}
}

/* Leaving while the peer stays: so that the next owner of this port can
 * take over, everything in flight between the ports is settled first: the
 * peer's transmit burst under way ends, the peer reads what we sent (its
 * DMA may be reading our frames), our ring is drained (frames traded to us
 * become ours); then the frames we own and nobody uses are listed in the
 * ownership map. Frames still posted to the peer stay posted. false when
 * the peer did not settle in time (the port is then not reusable). */
static bool zc__leave_clean(struct zc__trapeze *t)
{
	struct timespec nap = { 0, ZC__TZ_LEAVE_NAP_NS };
	int i;
	for (i = 0; i < ZC__TZ_LEAVE_BURST_NAPS && (zc__tz_tx_seq(t->peer, memory_order_seq_cst) & 1); i++)
		nanosleep(&nap, NULL);
	if (i == ZC__TZ_LEAVE_BURST_NAPS)
		return false;
	zc__kick(t);
	for (i = 0; i < ZC__TZ_LEAVE_READ_NAPS &&
		    zc__tz_rx_tail(t->peer, memory_order_seq_cst) != zc__tz_rx_head(t->peer, memory_order_seq_cst);
	     i++)
		nanosleep(&nap, NULL);
	if (i == ZC__TZ_LEAVE_READ_NAPS)
		return false;
	struct zc_mbuf *m[ZC__TZ_DRAIN_BURST];
	for (int k; (k = zc__tz_rx(&t->nif, m, ZC__TZ_DRAIN_BURST, UINT64_MAX)) > 0;)
		while (k > 0)
			zc_mbuf_free(m[--k]);
	zc__reap(t);
	if (t->nheld)
		return false;
	/* references: ours to the peer go back now (the stack above is gone);
	 * the peer's to our frames come back as its reader gets to them */
	zc__ref_return(t);
	for (i = 0; i < ZC__TZ_LEAVE_BURST_NAPS && t->nref_free < ZC__TZ_REFS; i++) {
		if (i % 50 == 0)
			zc__kick(t);
		nanosleep(&nap, NULL);
		zc__reap(t);
	}
	if (t->nref_free < ZC__TZ_REFS)
		ZC_WARN("trapeze %s: the peer still holds %u packets by reference: their frames stay "
			"out of use until both ends restart",
			t->nif.name, ZC__TZ_REFS - t->nref_free);
	void *base;
	size_t len;
	uint64_t *map = zc__map_port(t, t->nframes, zc__tz_frames_off(t->sh), t->port, &base, &len);
	if (map == NULL)
		return false;
	struct zc_pool *pool = t->nif.pool;
	uint32_t listed = 0, owned = 0;
	zc__tz_map_clear(map, t->nframes);
	for (uint32_t f = 0; f < t->nframes; f++) {
		if (!zc_pool_owns(pool, f))
			continue;
		owned++;
		if (zc_pool_frame_refcnt(pool, f) == 0) {
			zc__tz_map_set(map, f);
			listed++;
		}
	}
	munmap(base, len);
	uint32_t posted = zc__tz_post_count(t->me);
	if (listed + posted < owned)
		ZC_WARN("trapeze %s: %u frames still in use at close are lost to the wire", t->nif.name,
			owned - listed - posted);
	zc__tz_set_clean(t->me, 1);
	return true;
}

void zc__tz_close(struct zc_netif *nif)
{
	struct zc__trapeze *t = zc__tz(nif);
	flock(t->fd, LOCK_EX);
	zc__tz_set_owner(t->me, 0); /* the peer's bursts from now on drop */
	atomic_thread_fence(memory_order_seq_cst);
	zc__tz_set_clean(t->me, 0);
	bool last = !zc__pid_alive(zc__tz_owner(t->peer, memory_order_seq_cst));
	if (!last && !zc__leave_clean(t))
		ZC_WARN("trapeze %s: the peer did not settle; this port cannot be reused until both ends restart",
			t->nif.name);
	for (unsigned i = 0; i < ZC__TZ_RX_RING; i++) { /* the peer may still read them: it is going too */
		zc_mbuf_free(t->held[i]);
		t->held[i] = NULL;
	}
	t->nheld = 0;
	zc__close_refs(t);
	zc__return_posted(t);
	zc__irq_unlink(t);
	if (last)
		unlink(t->path);
	flock(t->fd, LOCK_UN);
	zc_pool_destroy(nif->pool);
	zc__flows_release(t);
	if (t->rxp)
		zc_pool_destroy(t->rxp);
	zc__unmap_sh(t);
	close(t->fd);
	if (t->arena)
		zc_arena_keep_fd(t->arena, t->efd, 0);
	close(t->efd);
	for (unsigned i = 0; i < ZC__TZ_KICKERS; i++)
		if (t->kick[i].pid == (int32_t)getpid() && t->kick[i].fd >= 0)
			close(t->kick[i].fd);
	zc__tz_free(t);
}

void zc_trapeze_set_owner(struct zc_netif *nif, pid_t pid)
{
	struct zc__trapeze *t = zc__tz(nif);
	flock(t->fd, LOCK_EX);
	zc__tz_set_owner(t->me, (int32_t)pid);
	/* the interrupt stays: every process of the stack inherited the FIFO */
	zc__tz_bump_gen(t->me);
	flock(t->fd, LOCK_UN);
}

bool zc_trapeze_link_up(struct zc_netif *nif)
{
	return zc__tz_owner(zc__tz(nif)->peer, memory_order_seq_cst) != 0;
}

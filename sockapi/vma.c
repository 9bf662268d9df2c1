/*
 * vma.c - what maps an address (see vma.h): PROCMAP_QUERY, or
 * /proc/self/maps parsed.
 */
#include "sockapi/vma.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* PROCMAP_QUERY (Linux 6.11, linux/fs.h); Debian 12's headers predate it. */
struct zc__procmap_query {
	uint64_t size, query_flags, query_addr;
	uint64_t vma_start, vma_end, vma_flags, vma_page_size, vma_offset, inode;
	uint32_t dev_major, dev_minor, vma_name_size, build_id_size;
	uint64_t vma_name_addr, build_id_addr;
};
#define ZC__PROCMAP_QUERY _IOWR('f', 17, struct zc__procmap_query)

static bool zc__maps_line(const char *l, struct zc__vma *v)
{
	unsigned long s, e, off, ino;
	char perms[5];
	unsigned maj, min;
	int n = 0;
	if (sscanf(l, "%lx-%lx %4s %lx %x:%x %lu %n", &s, &e, perms, &off, &maj, &min, &ino, &n) < 7)
		return false;
	v->start = s;
	v->end = e;
	v->offset = off;
	v->inode = ino;
	v->dev_major = maj;
	v->dev_minor = min;
	v->flags = (perms[0] == 'r' ? ZC__VMA_READ : 0) | (perms[1] == 'w' ? ZC__VMA_WRITE : 0) |
		   (perms[3] == 's' ? ZC__VMA_SHARED : 0);
	v->special = n > 0 && l[n] == '[' && strncmp(l + n, "[heap]", 6) != 0;
	return true;
}

/* Calls fn for every mapping of the process; -errno when maps is unreadable. */
int zc__maps_each(void (*fn)(const struct zc__vma *v, void *arg), void *arg)
{
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t cap = 1 << 16, len = 0;
	char *b = malloc(cap + 1);
	for (;;) {
		if (b == NULL) {
			close(fd);
			return -ENOMEM;
		}
		ssize_t r = read(fd, b + len, cap - len);
		if (r <= 0)
			break;
		len += (size_t)r;
		if (len == cap) {
			char *nb = realloc(b, cap * 2 + 1);
			if (nb == NULL) {
				free(b);
				b = NULL;
				continue;
			}
			b = nb;
			cap *= 2;
		}
	}
	close(fd);
	b[len] = '\0';
	for (char *l = b; l && *l;) {
		char *nl = strchr(l, '\n');
		if (nl)
			*nl = '\0';
		struct zc__vma v;
		if (zc__maps_line(l, &v))
			fn(&v, arg);
		l = nl ? nl + 1 : NULL;
	}
	free(b);
	return 0;
}

struct zc__find { uintptr_t addr; struct zc__vma *out; bool found; };
static void zc__find_cb(const struct zc__vma *v, void *arg)
{
	struct zc__find *f = arg;
	if (!f->found && v->start <= f->addr && f->addr < v->end) {
		*f->out = *v;
		f->found = true;
	}
}

int zc__vma_at(struct zc__maps *m, const void *addr, struct zc__vma *v)
{
	if (m->procmap) {
		char name[512] = "";
		struct zc__procmap_query q = {
			.size = sizeof(q),
			.query_addr = (uintptr_t)addr,
			.vma_name_size = sizeof(name),
			.vma_name_addr = (uintptr_t)name,
		};
		int r = ioctl(m->fd, ZC__PROCMAP_QUERY, &q);
		if (r != 0 && errno == ENAMETOOLONG) { /* a long file name: not a [special] one */
			q.vma_name_size = 0;
			q.vma_name_addr = 0;
			name[0] = '\0';
			r = ioctl(m->fd, ZC__PROCMAP_QUERY, &q);
		}
		if (r == 0) {
			v->start = q.vma_start;
			v->end = q.vma_end;
			v->offset = q.vma_offset;
			v->inode = q.inode;
			v->dev_major = q.dev_major;
			v->dev_minor = q.dev_minor;
			v->flags = (unsigned)q.vma_flags & (ZC__VMA_READ | ZC__VMA_WRITE | ZC__VMA_SHARED);
			v->special = q.vma_name_size > 1 && name[0] == '[' && strncmp(name, "[heap]", 6) != 0;
			return 0;
		}
		if (errno != ENOTTY && errno != EINVAL)
			return -errno;
		m->procmap = false;
	}
	struct zc__find f = { (uintptr_t)addr, v, false };
	int r = zc__maps_each(zc__find_cb, &f);
	return r ? r : f.found ? 0 : -ENOENT;
}

/* --- set-up and the measurement ----------------------------------------------- */

void zc__maps_open(struct zc__maps *m)
{
	m->fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	m->procmap = m->fd >= 0;
}

void zc__maps_close(struct zc__maps *m)
{
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
}

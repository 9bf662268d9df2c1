/*
 * fdhigh.h - the stack's own descriptors out of the program's way.
 *
 * A program picks low numbers for itself: a shell's `exec 3<>file` is
 * dup2(fd, 3), which would close whatever the stack had at 3 (its shared
 * memory, an interrupt) without the stack knowing. So every descriptor the
 * stack makes for itself moves to the upper half of the soft RLIMIT_NOFILE
 * (at least 256; where that is full, it stays where it is).
 */
#ifndef ZC_FDHIGH_H
#define ZC_FDHIGH_H
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

/* fd, or its copy at a high number (close-on-exec, as the stack's are);
 * fd < 0 passes through. */
static inline int zc_fd_high(int fd)
{
	struct rlimit rl;
	if (fd < 0 || getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < 512)
		return fd;
	int floor = (int)(rl.rlim_cur / 2 < 1u << 20 ? rl.rlim_cur / 2 : 1u << 20);
	if (fd >= floor)
		return fd;
	int hi = fcntl(fd, F_DUPFD_CLOEXEC, floor);
	if (hi < 0)
		return fd;
	close(fd);
	return hi;
}
#endif

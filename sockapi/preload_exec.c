/*
 * preload_exec.c - the shim's exec calls: execve, execv, execvp, execvpe,
 * execl, execlp, execle, fexecve, posix_spawn, posix_spawnp.
 *
 * A stack socket lives in this process's memory; the new program cannot
 * have it (issue 15 will carry sockets across exec). The kernel descriptor
 * behind its number would reach the new program as an unbound kernel
 * socket that answers ENOTCONN, a silent failure; so before the exec every
 * stack socket's descriptor is made close-on-exec (the new program gets
 * EBADF, as for a socket it never had), and when some of them were meant
 * to pass (not close-on-exec in the program's view) that is told once and
 * counted (bypass_exec) with the numbers. If the exec fails, the flags are
 * put back. The exec itself is the C library's.
 */
#include "sockapi/preload_priv.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The stack descriptors that were inheritable, made close-on-exec (no
 * malloc: a child of fork may call exec; beyond ZC__UNDO_MAX the flags
 * are not put back if the exec fails). */
#define ZC__UNDO_MAX 256
struct zc__exec_undo {
	int fds[ZC__UNDO_MAX];
	int n;
};

static void zc__exec_prepare(const char *what, const char *path, struct zc__exec_undo *u)
{
	u->n = 0;
	zc__load();
	if (zc__cx == NULL || zc__inside)
		return;
	char list[160] = "";
	size_t off = 0;
	int told = 0;
	for (int fd = 0; fd < ZC__MAXFD; fd++) {
		if (!zc__mine(fd))
			continue;
		int f = zc__real.fcntl(fd, F_GETFD);
		if (f < 0 || (f & FD_CLOEXEC))
			continue;
		zc__real.fcntl(fd, F_SETFD, f | FD_CLOEXEC);
		if (u->n < ZC__UNDO_MAX)
			u->fds[u->n++] = fd;
		told++;
		if (off < sizeof(list) - 16)
			off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%d", off ? " " : "", fd);
		else if (off < sizeof(list) - 4)
			off += (size_t)snprintf(list + off, sizeof(list) - off, " ...");
	}
	if (told)
		zc_bypass(zc__bypass, ZC_BYPASS_EXEC, 0,
			  "%s(%s): stack sockets do not pass to a new program yet (fds %s): it gets EBADF "
			  "on them, and they stay this process's until the exec succeeds",
			  what, path ? path : "?", list);
}

static void zc__exec_undo(struct zc__exec_undo *u)
{
	int e = errno;
	for (int i = 0; i < u->n; i++) {
		int f = zc__real.fcntl(u->fds[i], F_GETFD);
		if (f >= 0)
			zc__real.fcntl(u->fds[i], F_SETFD, f & ~FD_CLOEXEC);
	}
	errno = e;
}

/* The C library's name; fail: what to return without it (posix_spawn
 * returns an error number, the exec calls -1 with errno). */
#define ZC__NEXT(name, type, fail)                                                    \
	static type zc__next_##name;                                                  \
	if (zc__next_##name == NULL)                                                  \
		zc__next_##name = (type)dlsym(RTLD_NEXT, #name);                      \
	if (zc__next_##name == NULL) {                                                \
		errno = ENOSYS;                                                       \
		return fail;                                                          \
	}

typedef int (*zc__execve_fn)(const char *, char *const[], char *const[]);
typedef int (*zc__execv_fn)(const char *, char *const[]);
typedef int (*zc__fexecve_fn)(int, char *const[], char *const[]);
typedef int (*zc__spawn_fn)(pid_t *, const char *, const posix_spawn_file_actions_t *,
			    const posix_spawnattr_t *, char *const[], char *const[]);

EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	ZC__NEXT(execve, zc__execve_fn, -1);
	struct zc__exec_undo u;
	zc__exec_prepare("execve", path, &u);
	int r = zc__next_execve(path, argv, envp);
	zc__exec_undo(&u);
	return r;
}

EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	ZC__NEXT(execvpe, zc__execve_fn, -1);
	struct zc__exec_undo u;
	zc__exec_prepare("execvpe", file, &u);
	int r = zc__next_execvpe(file, argv, envp);
	zc__exec_undo(&u);
	return r;
}

EXPORT int execv(const char *path, char *const argv[])
{
	ZC__NEXT(execv, zc__execv_fn, -1);
	struct zc__exec_undo u;
	zc__exec_prepare("execv", path, &u);
	int r = zc__next_execv(path, argv);
	zc__exec_undo(&u);
	return r;
}

EXPORT int execvp(const char *file, char *const argv[])
{
	ZC__NEXT(execvp, zc__execv_fn, -1);
	struct zc__exec_undo u;
	zc__exec_prepare("execvp", file, &u);
	int r = zc__next_execvp(file, argv);
	zc__exec_undo(&u);
	return r;
}

EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	ZC__NEXT(fexecve, zc__fexecve_fn, -1);
	struct zc__exec_undo u;
	zc__exec_prepare("fexecve", argv[0], &u);
	int r = zc__next_fexecve(fd, argv, envp);
	zc__exec_undo(&u);
	return r;
}

/* execl, execlp, execle: their arguments as an argv for the v forms. */
static char **zc__argv(const char *arg0, va_list ap, char ***envp)
{
	size_t n = 1, cap = 16;
	char **v = malloc(cap * sizeof(*v));
	if (v == NULL)
		return NULL;
	v[0] = (char *)arg0;
	for (char *a; arg0 && (a = va_arg(ap, char *)) != NULL;) {
		if (n + 1 >= cap) {
			char **w = realloc(v, 2 * cap * sizeof(*v));
			if (w == NULL) {
				free(v);
				return NULL;
			}
			v = w;
			cap *= 2;
		}
		v[n++] = a;
	}
	v[n] = NULL;
	if (envp)
		*envp = va_arg(ap, char **);
	return v;
}

EXPORT int execl(const char *path, const char *arg, ...)
{
	va_list ap;
	va_start(ap, arg);
	char **v = zc__argv(arg, ap, NULL);
	va_end(ap);
	if (v == NULL) {
		errno = ENOMEM;
		return -1;
	}
	int r = execv(path, v);
	free(v);
	return r;
}

EXPORT int execlp(const char *file, const char *arg, ...)
{
	va_list ap;
	va_start(ap, arg);
	char **v = zc__argv(arg, ap, NULL);
	va_end(ap);
	if (v == NULL) {
		errno = ENOMEM;
		return -1;
	}
	int r = execvp(file, v);
	free(v);
	return r;
}

EXPORT int execle(const char *path, const char *arg, ...)
{
	va_list ap;
	va_start(ap, arg);
	char **envp = NULL;
	char **v = zc__argv(arg, ap, &envp);
	va_end(ap);
	if (v == NULL) {
		errno = ENOMEM;
		return -1;
	}
	int r = execve(path, v, envp);
	free(v);
	return r;
}

/* posix_spawn: the child is a new program at once; it inherits what is not
 * close-on-exec, so the same preparation, undone as soon as it is made. */
EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
		       const posix_spawnattr_t *at, char *const argv[], char *const envp[])
{
	ZC__NEXT(posix_spawn, zc__spawn_fn, ENOSYS);
	struct zc__exec_undo u;
	zc__exec_prepare("posix_spawn", path, &u);
	int r = zc__next_posix_spawn(pid, path, fa, at, argv, envp);
	zc__exec_undo(&u);
	return r;
}

EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
			const posix_spawnattr_t *at, char *const argv[], char *const envp[])
{
	ZC__NEXT(posix_spawnp, zc__spawn_fn, ENOSYS);
	struct zc__exec_undo u;
	zc__exec_prepare("posix_spawnp", file, &u);
	int r = zc__next_posix_spawnp(pid, file, fa, at, argv, envp);
	zc__exec_undo(&u);
	return r;
}

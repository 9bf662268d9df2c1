/*
 * preload_exec.c - the shim's exec calls: execve, execv, execvp, execvpe,
 * execl, execlp, execle, fexecve, posix_spawn, posix_spawnp.
 *
 * A process of a stack that execs a dynamic program with zcrun's preload in
 * its environment keeps its part of the stack: its slot notes which stack
 * descriptors pass (not close-on-exec), zero-copy buffers are made private,
 * the stack's own descriptors (its shared memory, the files mapped beside
 * it, the NIC's interrupt) are made inheritable, and the new image gets
 * ZCS_SHM=FD:PID; its preload attaches before main (preload.c) and finds
 * the sockets at the same numbers. If the exec fails, all of it is undone.
 *
 * Otherwise (a static program, the preload gone from the environment, a
 * NIC whose state is one process's, fexecve and posix_spawn) the kernel
 * descriptor behind a socket's number would reach the new program as an
 * unbound kernel socket that answers ENOTCONN, a silent failure; so every
 * stack socket's descriptor is made close-on-exec (the new program gets
 * EBADF, as for a socket it never had), and when some of them were meant to
 * pass that is told once and counted (bypass_exec) with the numbers.
 */
#include "sockapi/preload_priv.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The stack descriptors that were inheritable, made close-on-exec (no
 * malloc: a child of fork may call exec; beyond ZC__UNDO_MAX the flags
 * are not put back if the exec fails); or, when the new image takes the
 * stack back (attach), the environment it gets. */
#define ZC__UNDO_MAX 256
#define ZC__ENV_MAX 4096 /* environment entries passed on when attaching */
struct zc__exec_undo {
	int fds[ZC__UNDO_MAX];
	int n;
	bool attach;
	char shm[48]; /* "ZCS_SHM=FD:PID" */
};

/* Which stack descriptors pass (not close-on-exec), for the slot */
static uint8_t zc__pass[ZC__MAXFD];

/* Does the program at path (searched in PATH when search and it has no
 * '/') run with a dynamic loader, or is it a script (whose interpreter
 * does)? A static program cannot load the preload. */
static bool zc__loads_preload_at(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	Elf64_Ehdr eh;
	bool ok = false;
	ssize_t n = pread(fd, &eh, sizeof(eh), 0);
	if (n >= 2 && memcmp(&eh, "#!", 2) == 0) {
		ok = true;
	} else if (n == (ssize_t)sizeof(eh) && memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 &&
		   eh.e_ident[EI_CLASS] == ELFCLASS64 && eh.e_phentsize == sizeof(Elf64_Phdr)) {
		for (unsigned i = 0; i < eh.e_phnum && !ok; i++) {
			Elf64_Phdr ph;
			if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + i * sizeof(ph))) != (ssize_t)sizeof(ph))
				break;
			ok = ph.p_type == PT_INTERP;
		}
	}
	close(fd);
	return ok;
}

/* The program exec would run: file, or found in PATH when search; its
 * path in out (size n), or false when there is none that may run. */
static bool zc__exec_target(const char *file, bool search, char *out, size_t n)
{
	if (file == NULL)
		return false;
	if (!search || strchr(file, '/')) {
		snprintf(out, n, "%s", file);
		return access(out, X_OK) == 0;
	}
	const char *path = getenv("PATH");
	for (const char *p = path ? path : "/bin:/usr/bin"; *p;) {
		const char *end = strchr(p, ':');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len + strlen(file) + 2 < n) {
			snprintf(out, n, "%.*s/%s", (int)len, len ? p : ".", file);
			if (access(out, X_OK) == 0)
				return true;
		}
		p += len + (end ? 1 : 0);
	}
	return false;
}

static bool zc__loads_preload(const char *target, char *const envp[])
{
	bool preload = false;
	for (size_t i = 0; envp && envp[i] && !preload; i++)
		preload = strncmp(envp[i], "LD_PRELOAD=", 11) == 0 && strstr(envp[i], "libzcpreload") != NULL;
	return preload && zc__loads_preload_at(target);
}

/* Before an exec of file (how: execve's name, for messages; search: PATH
 * is searched; envp: the new environment). The new image takes the stack
 * back when it can (a dynamic program with the preload in its environment,
 * a stack whose NIC's state is shared): the descriptors stay as the
 * program set them, and *envp gets ZCS_SHM. Otherwise the stack's
 * descriptors are made close-on-exec and that is told. */
static void zc__exec_prepare(const char *what, const char *path, bool search, char *const envp[],
			     struct zc__exec_undo *u)
{
	u->n = 0;
	u->attach = false;
	zc__load();
	if (zc__cx == NULL || zc__inside)
		return;
	char target[4096];
	/* a vfork child (posix_spawn's, Python's subprocess) runs in its
	 * parent's memory: nothing of the stack may change, only its own
	 * descriptor flags (below) */
	bool vforked = zc__sockctx_pid(zc__cx) != getpid();
	bool runs = !vforked && zc__exec_target(path, search, target, sizeof(target));
	if (runs && envp && zc__loads_preload(target, envp)) {
		memset(zc__pass, 0, sizeof(zc__pass));
		for (int fd = 0; fd < ZC__MAXFD; fd++) {
			if (!zc__mine(fd))
				continue;
			int f = zc__real.fcntl(fd, F_GETFD);
			zc__pass[fd] = f >= 0 && !(f & FD_CLOEXEC);
		}
		zc__inside++;
		u->attach = zc__sockctx_exec_prepare(zc__cx, zc__pass);
		zc__inside--;
		if (u->attach) {
			snprintf(u->shm, sizeof(u->shm), "ZCS_SHM=%d:%d", zc__sockctx_shm_fd(zc__cx), (int)getpid());
			return;
		}
	}
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
			  "%s(%s): stack sockets pass only to a dynamic program with zcrun's preload in its "
			  "environment, on a NIC whose state can be shared (fds %s): it gets EBADF on them, "
			  "and their connections stay open until this process ends",
			  what, path ? path : "?", list);
}

static void zc__exec_undo(struct zc__exec_undo *u)
{
	int e = errno;
	if (u->attach) {
		zc__inside++;
		zc__sockctx_exec_failed(zc__cx);
		zc__inside--;
	}
	for (int i = 0; i < u->n; i++) {
		int f = zc__real.fcntl(u->fds[i], F_GETFD);
		if (f >= 0)
			zc__real.fcntl(u->fds[i], F_SETFD, f & ~FD_CLOEXEC);
	}
	errno = e;
}

/* envp with u's ZCS_SHM in place of any it had, in out (ZC__ENV_MAX + 2
 * entries); envp itself when not attaching or when it is too long. */
static char *const *zc__exec_env(struct zc__exec_undo *u, char *const envp[], char **out)
{
	if (!u->attach)
		return envp;
	size_t n = 0;
	for (size_t i = 0; envp && envp[i]; i++) {
		if (strncmp(envp[i], "ZCS_SHM=", 8) == 0)
			continue;
		if (n == ZC__ENV_MAX)
			return envp;
		out[n++] = envp[i];
	}
	out[n++] = u->shm;
	out[n] = NULL;
	return out;
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
typedef int (*zc__fexecve_fn)(int, char *const[], char *const[]);
typedef int (*zc__spawn_fn)(pid_t *, const char *, const posix_spawn_file_actions_t *,
			    const posix_spawnattr_t *, char *const[], char *const[]);

EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	ZC__NEXT(execve, zc__execve_fn, -1);
	struct zc__exec_undo u;
	char *env[ZC__ENV_MAX + 2];
	zc__exec_prepare("execve", path, false, envp, &u);
	int r = zc__next_execve(path, argv, zc__exec_env(&u, envp, env));
	zc__exec_undo(&u);
	return r;
}

EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	ZC__NEXT(execvpe, zc__execve_fn, -1);
	struct zc__exec_undo u;
	char *env[ZC__ENV_MAX + 2];
	zc__exec_prepare("execvpe", file, true, envp, &u);
	int r = zc__next_execvpe(file, argv, zc__exec_env(&u, envp, env));
	zc__exec_undo(&u);
	return r;
}

/* execv and execvp: execve and execvpe with environ, so that ZCS_SHM can
 * be added without setenv's malloc */
EXPORT int execv(const char *path, char *const argv[])
{
	ZC__NEXT(execve, zc__execve_fn, -1);
	struct zc__exec_undo u;
	char *env[ZC__ENV_MAX + 2];
	zc__exec_prepare("execv", path, false, environ, &u);
	int r = zc__next_execve(path, argv, zc__exec_env(&u, environ, env));
	zc__exec_undo(&u);
	return r;
}

EXPORT int execvp(const char *file, char *const argv[])
{
	ZC__NEXT(execvpe, zc__execve_fn, -1);
	struct zc__exec_undo u;
	char *env[ZC__ENV_MAX + 2];
	zc__exec_prepare("execvp", file, true, environ, &u);
	int r = zc__next_execvpe(file, argv, zc__exec_env(&u, environ, env));
	zc__exec_undo(&u);
	return r;
}

EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	ZC__NEXT(fexecve, zc__fexecve_fn, -1);
	struct zc__exec_undo u;
	zc__exec_prepare("fexecve", argv[0], false, NULL, &u); /* the file is not known by name */
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
	zc__exec_prepare("posix_spawn", path, false, NULL, &u); /* another process: not attached */
	int r = zc__next_posix_spawn(pid, path, fa, at, argv, envp);
	zc__exec_undo(&u);
	return r;
}

EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
			const posix_spawnattr_t *at, char *const argv[], char *const envp[])
{
	ZC__NEXT(posix_spawnp, zc__spawn_fn, ENOSYS);
	struct zc__exec_undo u;
	zc__exec_prepare("posix_spawnp", file, false, NULL, &u);
	int r = zc__next_posix_spawnp(pid, file, fa, at, argv, envp);
	zc__exec_undo(&u);
	return r;
}

/*
 * selfpid.h - this process's pid without a system call.
 *
 * glibc's getpid() is a system call (~1 us in this VM), and the Trapeze
 * wire asked it on every wake-up of its peer, once a request under nginx
 * and wrk. The pid is read once and again in a fork child (pthread_atfork).
 * A vfork child, which shares its parent's memory and runs no fork handler,
 * sees its parent's pid here: the stack does nothing in one (preload_exec.c).
 */
#ifndef ZC_SELFPID_H
#define ZC_SELFPID_H
#include <sys/types.h>

pid_t zc_self_pid(void);

#endif

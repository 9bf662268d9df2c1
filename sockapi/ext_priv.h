/*
 * ext_priv.h - the registry of open contexts (internal to sockapi/), for
 * the descriptor-based zero-copy extensions of sockapi/zcx.h.
 *
 * zcx.h's calls name a socket by its descriptor alone; in a program linked
 * with libzcstack, which may hold several contexts, they find the context
 * whose socket it is here. zc_sockctx_open registers every context it made,
 * zc_sockctx_close unregisters it first. One mutex keeps the list; the
 * callbacks of zc__ext_find and zc__ext_each run under it, so a context
 * they are handed is not closed meanwhile (lock order: this registry, then
 * a context's lock). The list is the only state, and zc__ext_reset empties
 * it (tests). A forked child keeps its parent's list, as it keeps the
 * contexts (their calls refuse the child with EBADF).
 */
#ifndef ZC_SOCKAPI_EXT_PRIV_H
#define ZC_SOCKAPI_EXT_PRIV_H

#include <stdbool.h>

struct zc_sockctx;

/* Add cx to the list (nothing if it is there already). */
void zc__ext_register(struct zc_sockctx *cx);
/* Take cx off the list; after this returns no callback has it. */
void zc__ext_unregister(struct zc_sockctx *cx);
/* The first registered context (in the order of registration) for which
 * match(cx, arg) is true, or NULL. */
struct zc_sockctx *zc__ext_find(bool (*match)(struct zc_sockctx *cx, void *arg), void *arg);
/* fn(cx, arg) on every registered context. */
void zc__ext_each(void (*fn)(struct zc_sockctx *cx, void *arg), void *arg);
/* How many contexts are registered. */
unsigned zc__ext_count(void);
/* Forget every context (tests: a clean registry; contexts are not closed). */
void zc__ext_reset(void);

#endif

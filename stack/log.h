/*
 * log.h - levelled logging for every layer of zcstack.
 *
 * Messages go to stderr as "zcstack: <level>: <text>". The threshold is
 * the only state: it starts at ZC_LOG_WARN, is read once from ZCS_LOG
 * (error|warn|info|debug) by zc_log_init_env(), and tests may set it.
 */
#ifndef ZC_LOG_H
#define ZC_LOG_H

#include <stdarg.h>

enum zc_log_level {
	ZC_LOG_QUIET = -1, /* as a threshold: nothing is printed */
	ZC_LOG_ERROR = 0,
	ZC_LOG_WARN = 1,
	ZC_LOG_INFO = 2,
	ZC_LOG_DEBUG = 3,
};

/* Set the threshold; messages above it are dropped. */
void zc_log_set_level(enum zc_log_level level);
enum zc_log_level zc_log_get_level(void);
/* Parse a level name ("error", "warn", "info", "debug" or 0-3); -1 when unknown. */
int zc_log_parse_level(const char *s);
/* Read ZCS_LOG; returns 0, or -EINVAL (with a message) when it is malformed. */
int zc_log_init_env(void);

void zc_log(enum zc_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define ZC_ERR(...) zc_log(ZC_LOG_ERROR, __VA_ARGS__)
#define ZC_WARN(...) zc_log(ZC_LOG_WARN, __VA_ARGS__)
#define ZC_INFO(...) zc_log(ZC_LOG_INFO, __VA_ARGS__)
#define ZC_DEBUG(...) zc_log(ZC_LOG_DEBUG, __VA_ARGS__)

#endif

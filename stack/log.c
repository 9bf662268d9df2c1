/*
 * log.c - see log.h. One atomic threshold, no other state.
 */
#include "stack/log.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Atomic int zc__log_level = ZC_LOG_WARN;

static const char *const zc__level_names[] = { "error", "warn", "info", "debug" };

void zc_log_set_level(enum zc_log_level level)
{
	atomic_store(&zc__log_level, (int)level);
}

enum zc_log_level zc_log_get_level(void)
{
	return (enum zc_log_level)atomic_load(&zc__log_level);
}

int zc_log_parse_level(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(s, zc__level_names[i]) == 0)
			return i;
	if (s[0] >= '0' && s[0] <= '3' && s[1] == '\0')
		return s[0] - '0';
	return -1;
}

int zc_log_init_env(void)
{
	const char *s = getenv("ZCS_LOG");
	if (s == NULL || *s == '\0')
		return 0;
	int l = zc_log_parse_level(s);
	if (l < 0) {
		fprintf(stderr, "zcstack: error: ZCS_LOG='%s': expected error, warn, info or debug\n", s);
		return -EINVAL;
	}
	zc_log_set_level((enum zc_log_level)l);
	return 0;
}

void zc_log(enum zc_log_level level, const char *fmt, ...)
{
	if ((int)level > atomic_load(&zc__log_level))
		return;
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "zcstack: %s: %s\n", zc__level_names[level], buf);
}

/* drop.c - names of the drop reasons in drop.h. */
#include "stack/drop.h"

#include <string.h>

static const char *const zc__drop_names[ZC_DROP__COUNT] = {
	[ZC_DROP_NONE] = "none",
#define ZC__DROP_NAME(id, name) [ZC_DROP_##id] = name,
	ZC_DROP_REASONS(ZC__DROP_NAME)
#undef ZC__DROP_NAME
};

const char *zc_drop_name(enum zc_drop_reason r)
{
	return (unsigned)r < ZC_DROP__COUNT ? zc__drop_names[r] : "unknown";
}

enum zc_drop_reason zc_drop_by_name(const char *name)
{
	for (unsigned i = 1; i < ZC_DROP__COUNT; i++)
		if (strcmp(zc__drop_names[i], name) == 0)
			return (enum zc_drop_reason)i;
	return ZC_DROP_NONE;
}

/* fuzz_fail.h - a harness that finds a broken invariant says why and
 * aborts, so that libFuzzer keeps the input (replay.c stops on it too). */
#ifndef ZC_TESTS_FUZZ_FAIL_H
#define ZC_TESTS_FUZZ_FAIL_H

#include <stdio.h>
#include <stdlib.h>

#define fuzz_fail(...)                                                                                                 \
	do {                                                                                                           \
		fprintf(stderr, "fuzz: " __VA_ARGS__);                                                                 \
		fputc('\n', stderr);                                                                                   \
		abort();                                                                                               \
	} while (0)

#endif

/* replay.c - a harness without libFuzzer: every input of the given files
 * and directories, once, through LLVMFuzzerTestOneInput. Built with any
 * compiler in the unit suite, so that the seed corpus and the inputs of
 * past findings (tests/fuzz/corpus/NAME/found-*) are regression tests on
 * every build, sanitized or not; a broken invariant aborts as under the
 * fuzzer. Prints how many inputs ran. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		perror(path);
		return -1;
	}
	static uint8_t buf[1 << 20];
	size_t n = fread(buf, 1, sizeof(buf), f);
	int err = ferror(f) || !feof(f);
	fclose(f);
	if (err) {
		fprintf(stderr, "%s: unreadable or over %zu bytes\n", path, sizeof(buf));
		return -1;
	}
	/* a copy of the exact size, so that ASan sees a read past the end */
	uint8_t *in = malloc(n ? n : 1);
	if (in == NULL)
		return -1;
	memcpy(in, buf, n);
	LLVMFuzzerTestOneInput(in, n);
	free(in);
	return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int main(int argc, char **argv)
{
	unsigned ran = 0;
	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		struct stat sb;
		if (stat(argv[i], &sb) != 0) {
			perror(argv[i]);
			return 1;
		}
		if (!S_ISDIR(sb.st_mode)) {
			if (run_file(argv[i]) != 0)
				return 1;
			ran++;
			continue;
		}
		struct dirent **ents;
		int n = scandir(argv[i], &ents, NULL, by_name);
		if (n < 0) {
			perror(argv[i]);
			return 1;
		}
		for (int k = 0; k < n; k++) {
			char path[4096];
			snprintf(path, sizeof(path), "%s/%s", argv[i], ents[k]->d_name);
			if (ents[k]->d_name[0] != '.' && stat(path, &sb) == 0 && S_ISREG(sb.st_mode)) {
				if (run_file(path) != 0)
					return 1;
				ran++;
			}
			free(ents[k]);
		}
		free(ents);
	}
	printf("%u inputs replayed, no finding\n", ran);
	return ran > 0 ? 0 : 1;
}

#!/bin/bash
# run.sh BIN CORPUS WORK [SECONDS] - one libFuzzer harness for a bounded
# time: first every input of the seed corpus CORPUS (the tree's, with the
# inputs of past findings), then new ones for SECONDS (default
# $ZCS_FUZZ_SECONDS, else 30) in one process per core... one process here:
# the suite runs one harness at a time. CORPUS.dict, if there, is its
# dictionary. What it learns goes to WORK/corpus,
# a crash to WORK/ (the test fails and names the file). Its final
# statistics (executions, coverage) are printed.
set -u
bin=$1 corpus=$2 work=$3 secs=${4:-${ZCS_FUZZ_SECONDS:-30}}
mkdir -p "$work/corpus"
# a harness's dictionary (the words of its input), when it has one
dict=()
[ -f "${corpus%/}.dict" ] && dict=("-dict=${corpus%/}.dict")
# rss: the stack's pool and wire are small; 2 GiB leaves ASan its room
# seeded (ZCS_FUZZ_SEED, default 1): the suite explores the same path on
# every run, so that a finding is not a coin toss of CI; 0 picks a new one
"$bin" "${dict[@]}" -seed="${ZCS_FUZZ_SEED:-1}" -max_total_time="$secs" -print_final_stats=1 -timeout=20 -rss_limit_mb=2048 \
	-artifact_prefix="$work/" "$work/corpus" "$corpus" > "$work/log" 2>&1
rc=$?
grep -E "^(stat::|#[0-9]+ *DONE)|Done [0-9]+ runs" "$work/log"
if [ $rc -ne 0 ]; then
	tail -40 "$work/log"
	echo "FAIL: $(basename "$bin"): exit $rc; the input: $(ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-* 2>/dev/null | head -1)"
	exit 1
fi
echo "ok: $(basename "$bin"): ${secs}s, no finding"

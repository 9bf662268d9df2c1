#!/bin/bash
# ab_demo.sh - the demo of two checkouts side by side: ./run.sh demo in
# BEFORE and AFTER (clean clones, each built by its own run.sh), alternating
# before, after, before, after ... RUNS times each; every run's output and
# results/ are kept under OUT/{before,after}-N.
#   bench/ab_demo.sh BEFORE_DIR AFTER_DIR [RUNS=2] [OUT=/tmp/ab_demo]
# e.g. git clone . /tmp/a && git -C /tmp/a checkout REV; git clone . /tmp/b;
#      bench/ab_demo.sh /tmp/a /tmp/b
set -euo pipefail
[ $# -ge 2 ] || { sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
before=$(cd "$1" && pwd) after=$(cd "$2" && pwd) runs=${3:-2} out=${4:-/tmp/ab_demo}
mkdir -p "$out"
for r in $(seq 1 "$runs"); do
	for side in before after; do
		dir=$before; [ $side = after ] && dir=$after
		echo "ab_demo: run $r, $side ($dir)"
		(cd "$dir" && ./run.sh demo) >"$out/$side-$r.txt" 2>&1 ||
			{ echo "ab_demo: $side run $r failed (see $out/$side-$r.txt)"; exit 1; }
		rm -rf "$out/$side-$r.results"
		cp -r "$dir/results" "$out/$side-$r.results"
	done
done
echo "ab_demo: done; headline rounds in $out/*/headline.csv, sweeps in $out/*.txt"

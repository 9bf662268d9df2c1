#!/bin/bash
# run.sh - the front door of zcstack.
#
#   ./run.sh demo            the main job: build, then the headline demo (unmodified
#                            iperf3, a ping-pong, nginx under wrk and request/response
#                            on zcstack via zcrun vs the kernel)
#                            and the zero-copy sweep
#   ./run.sh bench           the other benchmarks: wire integrity demo, wire hand-over,
#                            UDP/ping round trips, TCP bulk and connection rate
#   ./run.sh test [SUITE..]  build (plain and clang+ASan/UBSan) and run the tests
#                            (default suites: unit integration fuzz; also: slow);
#                            fuzz: each libFuzzer harness for $ZCS_FUZZ_SECONDS
#                            (default 60) in build-fuzz/ (clang, ASan/UBSan)
#   ./run.sh deps            only install the Debian packages that are missing
#
# On a fresh Debian 12 machine run it as root: it installs what is missing
# with apt-get. Builds go to build/ (gcc), build-san/ (clang, sanitizers)
# and build-fuzz/ (clang, libFuzzer).
set -euo pipefail
cd "$(dirname "$0")"

PKGS=(meson ninja-build pkg-config gcc clang libclang-rt-14-dev libdpdk-dev libpcap-dev
      libcmocka-dev tshark iproute2 socat iputils-ping netcat-openbsd iperf3 curl gnuplot-nox
      python3 procps redis-server redis-tools nginx-light wrk)

say() { printf 'zcstack: %s\n' "$*"; }

deps() {
	local missing=()
	for p in "${PKGS[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		say "missing Debian packages: ${missing[*]}; run as root, or: sudo apt-get install ${missing[*]}"
		exit 1
	fi
	say "installing missing Debian packages: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	# the servers the tests run (redis, nginx) are not started as services
	local norc=""
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		norc=/usr/sbin/policy-rc.d
		printf '#!/bin/sh\nexit 101\n' > "$norc"
		chmod +x "$norc"
	fi
	local rc=0
	apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || rc=$?
	[ -n "$norc" ] && rm -f "$norc"
	[ $rc -eq 0 ] || { say "apt-get failed ($rc)"; exit 1; }
}

build() { # build DIR [meson options...]
	local dir=$1
	shift
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "$@" >/dev/null
	fi
	ninja -C "$dir" >/dev/null
}

# Let shmem use 2 MiB transparent huge pages when asked (MADV_HUGEPAGE), so
# pools can have 2 MiB frames; say so when we change it.
hugepages() {
	local f=/sys/kernel/mm/transparent_hugepage/shmem_enabled
	[ -r "$f" ] || return 0
	if grep -q '\[never\]' "$f"; then
		if [ "$(id -u)" -eq 0 ] && echo advise 2>/dev/null >"$f"; then
			say "switched $f from 'never' to 'advise' (2 MiB frames for pools that ask)"
		else
			say "shmem huge pages are off ($f); pools will use 4 KiB frames"
		fi
	fi
}

TOTAL_OK=0
TOTAL_FAIL=0
run_suites() { # run_suites DIR LABEL SUITES...
	local dir=$1 label=$2
	shift 2
	local args=()
	for s in "$@"; do args+=(--suite "$s"); done
	say "tests ($label): ${*}"
	local log
	log=$(mktemp)
	set +e
	meson test -C "$dir" "${args[@]}" --print-errorlogs --num-processes 2 2>&1 | tee "$log"
	set -e
	local ok fail
	ok=$(awk '/^Ok:/{print $2}' "$log" | tail -1)
	fail=$(awk '/^(Fail|Timeout|Unexpected Pass):/{s+=$NF} END{print s+0}' "$log")
	rm -f "$log"
	TOTAL_OK=$((TOTAL_OK + ${ok:-0}))
	TOTAL_FAIL=$((TOTAL_FAIL + fail))
	if [ -z "$ok" ]; then TOTAL_FAIL=$((TOTAL_FAIL + 1)); fi
}

cmd=${1:-}
case "$cmd" in
deps)
	deps
	;;
test)
	shift
	suites=("$@")
	[ ${#suites[@]} -eq 0 ] && suites=(unit integration fuzz)
	# the fuzz suite has its own build; the others run in both builds
	plain=() fuzz=0
	for s in "${suites[@]}"; do
		if [ "$s" = fuzz ]; then fuzz=1; else plain+=("$s"); fi
	done
	deps
	hugepages
	build build
	if [ ${#plain[@]} -gt 0 ]; then
		run_suites build "gcc" "${plain[@]}"
		CC=clang build build-san -Dsanitize=true
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
			run_suites build-san "clang + ASan/UBSan" "${plain[@]}"
	fi
	if [ $fuzz -eq 1 ]; then
		CC=clang build build-fuzz -Dsanitize=true -Dfuzz=true -Ddpdk=disabled -Dtests=disabled
		ZCS_FUZZ_SECONDS=${ZCS_FUZZ_SECONDS:-45} UBSAN_OPTIONS=print_stacktrace=1 \
			run_suites build-fuzz "libFuzzer, ASan/UBSan, ${ZCS_FUZZ_SECONDS:-45} s a harness" fuzz
	fi
	echo "tests: $TOTAL_OK passed, $TOTAL_FAIL failed"
	[ "$TOTAL_FAIL" -eq 0 ]
	;;
demo)
	deps
	hugepages
	build build
	mkdir -p results
	say "headline: unmodified iperf3, a 64-byte TCP ping-pong, nginx under wrk and 1-16 MiB request/response,"
	say "on the Linux kernel over loopback and on zcstack through zcrun (two processes on a Trapeze wire;"
	say "iperf3 also over net_memif), alternating, 5 rounds"
	python3 bench/headline.py build --out results
	say "benchmark: zero-copy through the socket layer, two processes on the Trapeze wire:"
	say "copy (never) against page trading and copy-on-write sends (auto, always), 4 KiB-4 MiB,"
	say "beside the kernel's loopback: send/recv, MSG_ZEROCOPY, TCP_ZEROCOPY_RECEIVE, both"
	./build/bench/zc_bench --scale 0.4 --csv results/zc_bench.csv
	;;
bench)
	deps
	hugepages
	build build
	mkdir -p results
	say "demo: two processes move 1 GiB over a Trapeze wire with loss, duplication,"
	say "reordering, corruption and delay injected; every frame is hash-checked"
	./build/tests/wire_integrity --mode all
	say "benchmark: the wire's frame hand-over vs memcpy of the same bytes"
	./build/bench/wire_bench --csv results/wire_bench.csv
	say "CSV written to results/wire_bench.csv"
	say "benchmark: ping and 64-byte UDP request/response: two stacks on the Trapeze wire,"
	say "the stack against the Linux kernel over DPDK net_tap, and the kernel over loopback"
	./build/bench/udp_bench --csv results/udp_bench.csv
	say "CSV written to results/udp_bench.csv"
	say "benchmark: TCP bulk throughput and connection rate, two stack processes on the"
	say "Trapeze wire (native API, copying) beside the Linux kernel over loopback"
	./build/bench/tcp_bench --csv results/tcp_bench.csv
	say "CSV written to results/tcp_bench.csv"
	say "benchmark: zero-copy sweep beside the kernel, medians of 5 rounds"
	./build/bench/zc_bench --csv results/zc_bench.csv
	say "benchmark: request/response of 64 KiB to 16 MiB each way, the same program on the"
	say "kernel over loopback and through zcrun on the Trapeze wire, medians of 5 rounds"
	./bench/reqresp.py build --rounds 5 --out results
	say "CSV written to results/reqresp.csv"
	say "benchmark: TCP loss recovery in deterministic simulation (loss 0.1-10%, reordering,"
	say "newreno/cubic, without SACK, SACK, SACK with tail loss probes), 3 seeds a cell"
	./bench/loss_table.py build --out results
	say "benchmark: the Linux kernel as peer over net_tap at 1% loss both ways, 1 GiB each"
	say "way, 3 rounds: each direction's goodput"
	sh bench/kernel_loss.sh build 3 | tee results/kernel_loss.md
	;;
*)
	sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
	[ -z "$cmd" ] || [ "$cmd" = "-h" ] || [ "$cmd" = "--help" ] || exit 2
	;;
esac

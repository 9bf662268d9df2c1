#!/bin/sh
# shim_kernel.sh ZCRUN - unmodified programs under zcrun with the Linux
# kernel as the peer, over DPDK net_tap in a network namespace the test
# makes: curl fetches a file from a kernel-side HTTP server (byte-exact),
# and iperf3 under zcrun runs against a kernel iperf3 in both directions.
set -u
ZCRUN=$1
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/netns.sh"
ns_setup zs
fail() { echo "FAIL: $*"; exit 1; }
head -c 8000000 /dev/urandom > "$out/file.bin"
# the kernel's servers listen on every address of the namespace
nsx python3 -m http.server 8000 --bind 0.0.0.0 --directory "$out" >/dev/null 2>&1 &
hpid=$!
nsx iperf3 -s -B 0.0.0.0 -p 5201 --logfile "$out/iperf3-kernel.log" &
ipid=$!
wait_for_port tcp 8000 "the kernel's HTTP server" || exit 1
wait_for_port tcp 5201 "the kernel's iperf3 server" || exit 1
Z="$ZCRUN --nic dpdk:net_tap0,iface=zc0 --ip 10.9.0.2/24"
# the stack under zcrun makes zc0: up_tap beside it waits for it
up_tap &
tpid=$!
nsx timeout 60 $Z -- curl -s -o "$out/got.bin" --retry 10 --retry-connrefused --retry-delay 1 \
	http://10.9.0.1:8000/file.bin || fail "curl under zcrun"
wait_pid_status $tpid "the kernel's side of zc0 (curl)" || exit 1
cmp -s "$out/file.bin" "$out/got.bin" || fail "curl: the file differs"
echo "ok: curl under zcrun fetched 8 MB from the kernel's HTTP server, byte-exact"
for dir in "" "-R"; do
	up_tap &
	tpid=$!
	nsx timeout 60 $Z -- iperf3 -c 10.9.0.1 -p 5201 -t 2 $dir -J > "$out/ip.json" 2>"$out/ip.err" ||
		{ tail -5 "$out/ip.err"; tail -20 "$out/ip.json"; fail "iperf3 $dir under zcrun against the kernel"; }
	wait_pid_status $tpid "the kernel's side of zc0 (iperf3 $dir)" || exit 1
	r=$(python3 -c '
import json,sys
e=json.load(open(sys.argv[1]))["end"]
print("%d %.2f" % (e["sum_received"]["bytes"], e["sum_received"]["bits_per_second"]/1e9))' "$out/ip.json")
	set -- $r
	[ "$1" -gt 10000000 ] || fail "iperf3 $dir: only $1 bytes"
	echo "ok: iperf3 ${dir:-(stack sends)} against the kernel: $1 bytes, $2 Gbit/s"
done
stop_pid $hpid "the kernel's HTTP server" || exit 1
stop_pid $ipid "the kernel's iperf3 server" || exit 1
echo PASS

#!/bin/sh
# cli_errors.sh BENCH [PEER] - bad configuration gives one clear message and a
# non-zero status, never a crash (a status >= 128 is a signal). PEER
# (stack_peer) adds bad device strings, addresses and DPDK errors.
set -u
bench=$1
peer=${2:-}
fails=0
. "$(dirname "$0")/lib.sh"
check() { # check "what" "expected text" ARGS...
	what=$1
	want=$2
	shift 2
	err=$(timeout 30 "$prog" "$@" 2>&1 >/dev/null)
	st=$?
	if [ $st -eq 0 ] || [ $st -ge 128 ] || ! printf '%s' "$err" | grep -q "$want"; then
		echo "FAIL: $what: status $st, stderr: $err"
		fails=$((fails + 1))
	else
		echo "ok: $what -> status $st: $(printf '%s' "$err" | head -1)"
	fi
}
prog=$bench
check "MTU not whole pages" "whole number of 4096-byte pages" --mtu 5000 --bytes 1048576 --rounds 1
check "MTU above 64 KiB" "at most 65536" --mtu 131072 --bytes 1048576 --rounds 1
check "odd frame count" "even number" --frames 1001 --bytes 1048576 --rounds 1
check "unknown option" "usage" --speed 9
check "bad rounds" "rounds must be" --rounds 0
ls /dev/shm/zcwire-bench* >/dev/null 2>&1 && { echo "FAIL: a wire file was left behind"; fails=$((fails + 1)); }
# a small but valid run works end to end
"$bench" --mtu 8192 --frames 512 --bytes 1048576 --rounds 1 >/dev/null || { echo "FAIL: small valid run"; fails=$((fails + 1)); }
if [ -n "$peer" ]; then
	prog=$peer
	r="--ip 10.0.0.1/24 --role responder --timeout 1"
	check "unknown NIC kind" "unknown device" --nic eth0 $r
	check "trapeze without a name" "no wire name" --nic trapeze:port=1 $r
	check "bad address" "bad address" --nic trapeze:clix$$ --ip 10.0.0.300/24 --role responder
	check "network address" "not a usable host address\|network or broadcast" --nic trapeze:cliy$$ --ip 10.0.0.0/24 --role responder
	check "empty dpdk string" "no device string" --nic dpdk: $r
	check "unknown DPDK driver" "cannot create 'net_bogus0': not a DPDK virtual device" --nic dpdk:net_bogus0 $r
	check "bad zc_ key" "unknown option 'zc_colour'" --nic dpdk:net_ring0,zc_colour=red $r
	check "multicast MAC" "expected a unicast MAC" --nic dpdk:net_ring0,zc_mac=01:00:00:00:00:01 $r
	check "missing pcap file" "can the rx_pcap file be read" --nic dpdk:net_pcap0,rx_pcap=/nonexistent/x.pcap $r
	sock=/tmp/zcstack-cli-$$.sock
	# a first server holds the socket until it is stopped (its --timeout only
	# ends it if the test does not)
	"$peer" --nic dpdk:net_memif0,role=server,socket=$sock --ip 10.0.0.1/24 --role responder --timeout 30 >/dev/null 2>&1 &
	first=$!
	wait_for_unix $sock "the first memif server's socket" || fails=$((fails + 1))
	check "memif socket in use" "memif socket already in use" --nic dpdk:net_memif0,role=server,socket=$sock $r
	stop_pid $first "the first memif server" || fails=$((fails + 1))
	rm -f $sock
fi
echo "$fails failed"
[ $fails -eq 0 ]

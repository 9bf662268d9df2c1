#!/bin/sh
# two_stacks.sh PEER_BIN RESPONDER_NIC CLIENT_NIC [chained]
# The shared body of the two-process tests: a responder stack and a client
# stack on the two ends of one link (Trapeze wire, memif pair, ...). The
# client pings 100 times and has 200 datagrams of 1..MTU bytes echoed, byte
# for byte; both print their counters. Passes when both exit 0 (and, with
# "chained", when both received frames in several DPDK segments).
# "%p" in a NIC string becomes this script's pid (unique wire and socket
# names); a file /tmp/zcstack-memif-PID.sock is removed at the end.
set -u
peer=$1
rnic=$(echo "$2" | sed "s/%p/$$/g")
cnic=$(echo "$3" | sed "s/%p/$$/g")
out=$(mktemp -d)
trap 'rm -rf "$out" /tmp/zcstack-memif-$$.sock' EXIT
. "$(dirname "$0")/lib.sh"
"$peer" --nic "$rnic" --ip 10.7.0.2/24 --role responder --timeout 60 >"$out/r" 2>&1 &
rpid=$!
# the client starts once the responder's end of the link is there: the
# wire's file (a Trapeze wire) or the memif server's socket
case $rnic in
trapeze:*)
	wire=${rnic#trapeze:}
	wait_for_file "/dev/shm/zcwire-${wire%%,*}" "the responder's wire" ;;
*memif*socket=*)
	sock=${rnic#*socket=}
	wait_for_unix "${sock%%,*}" "the responder's memif socket" ;;
*)
	echo "FAIL: no readiness known for the responder's NIC $rnic"; false ;;
esac || { kill $rpid 2>/dev/null; cat "$out/r"; exit 1; }
"$peer" --nic "$cnic" --ip 10.7.0.1/24 --role client --peer 10.7.0.2 --timeout 60 >"$out/c" 2>&1
crc=$?
rrc=0
wait $rpid || rrc=$?
echo "--- client ($cnic), exit $crc"; cat "$out/c"
echo "--- responder ($rnic), exit $rrc"; cat "$out/r"
grep -q '^pings 100/100$' "$out/c" || { echo "FAIL: not every ping answered"; exit 1; }
grep -q '^datagrams 200/200 ' "$out/c" || { echo "FAIL: datagrams lost or changed"; exit 1; }
grep -q '^icmp_echo_out 100$' "$out/r" || { echo "FAIL: responder did not answer 100 echoes"; exit 1; }
[ $crc -eq 0 ] && [ $rrc -eq 0 ] || { echo "FAIL: exit codes $crc/$rrc"; exit 1; }
if [ "${4:-}" = chained ]; then
	for f in c r; do
		n=$(awk '$1 == "dpdk.rx_chained" { print $2 }' "$out/$f")
		[ "${n:-0}" -gt 0 ] || { echo "FAIL: no frame came in several DPDK segments ($f: '${n:-}')"; exit 1; }
	done
fi
echo PASS

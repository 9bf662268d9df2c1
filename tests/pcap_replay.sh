#!/bin/sh
# pcap_replay.sh PEER_BIN DATADIR OUTDIR
# Feeds tests/data/hostile.pcap (made by gen_hostile.py) to a stack through
# DPDK's net_pcap and records what the stack sends back. Passes when
#  - every drop counter equals the count in hostile.txt, and no drop name
#    appears that the file does not list (icmp_rate_limited aside, which must
#    be at least rate_limited_min);
#  - the answers, judged by tshark, are exactly the expected ones (ARP reply,
#    echo reply, UDP echo, protocol unreachable, port unreachables within the
#    rate limit, a RST for the SYN to a closed port, the gratuitous ARP) and
#    nothing else, none malformed.
set -u
peer=$1 data=$2 out=$3
. "$(dirname "$0")/lib.sh"
mkdir -p "$out"
rm -f "$out/answers.pcap"
exp="$data/hostile.txt"
"$peer" --nic "dpdk:net_pcap0,rx_pcap=$data/hostile.pcap,tx_pcap=$out/answers.pcap,zc_mac=02:00:00:00:08:02" \
	--ip 10.8.0.2/24 --role replay --timeout 60 --icmp-rate 1 >"$out/stats" 2>"$out/stderr"
rc=$?
cat "$out/stats"
[ $rc -eq 0 ] || { echo "FAIL: stack exited $rc"; cat "$out/stderr"; exit 1; }
fail=0
# drops: exact, and no unexpected names
awk -v ef="$exp" '
	BEGIN { while ((getline l < ef) > 0) { split(l, f, " "); want[f[1]] = f[2] } }
	/^drop\./ { got[$1] = $2 }
	END {
		bad = 0
		for (k in want) if (k ~ /^drop\./ && got[k] + 0 != want[k] + 0) {
			printf "FAIL: %s = %d, want %d\n", k, got[k], want[k]; bad = 1 }
		for (k in got) if (!(k in want) && k != "drop.icmp_rate_limited") {
			printf "FAIL: unexpected %s = %d\n", k, got[k]; bad = 1 }
		if (got["drop.icmp_rate_limited"] + 0 < want["rate_limited_min"] + 0) {
			printf "FAIL: icmp_rate_limited = %d, want >= %d\n", got["drop.icmp_rate_limited"], want["rate_limited_min"]; bad = 1 }
		exit bad
	}' "$out/stats" || fail=1

want() { awk -v k="$1" '$1 == k { print $2 }' "$exp"; }
count() { tshark_count -r "$out/answers.pcap" -Y "$1"; }
check() { # name filter [exact|range]
	n=$(count "$2") || fail=1
	if [ "$3" = exact ]; then
		w=$(want "answer.$1")
		[ "$n" -eq "$w" ] || { echo "FAIL: answer $1: $n, want $w"; fail=1; }
	else
		lo=$(want "answer_min.$1"); hi=$(want "answer_max.$1")
		[ "$n" -ge "$lo" ] && [ "$n" -le "$hi" ] || { echo "FAIL: answer $1: $n, want $lo..$hi"; fail=1; }
	fi
	echo "answer $1: $n"
}
check arp_reply 'arp.opcode == 2' exact
check echo_reply 'icmp.type == 0' exact
check udp_echo 'udp.srcport == 7777 && data.data == 68:65:6c:6c:6f:2c:20:73:74:61:63:6b' exact
check icmp_proto_unreach 'icmp.type == 3 && icmp.code == 2' exact
check tcp_rst 'tcp.flags.reset == 1 && tcp.srcport == 80 && tcp.ack == 1' exact
check icmp_port_unreach 'icmp.type == 3 && icmp.code == 3' range
grat=$(count 'arp.opcode == 1 && arp.src.proto_ipv4 == 10.8.0.2 && arp.dst.proto_ipv4 == 10.8.0.2') || fail=1
total=$(count 'frame') || fail=1
known=$(count 'arp.opcode == 2 || icmp.type == 0 || udp.srcport == 7777 || tcp.flags.reset == 1 || (icmp.type == 3 && (icmp.code == 2 || icmp.code == 3)) || (arp.opcode == 1 && arp.src.proto_ipv4 == 10.8.0.2)') || fail=1
[ "$grat" -eq 1 ] || { echo "FAIL: $grat gratuitous ARPs, want 1"; fail=1; }
[ "$total" -eq "$known" ] || { echo "FAIL: $total frames sent, only $known expected ones"; fail=1; }
opts="-o ip.check_checksum:TRUE -o udp.check_checksum:TRUE"
badf='_ws.malformed || _ws.expert.severity >= "error" || ip.checksum.status == "Bad" || icmp.checksum.status == "Bad" || udp.checksum.status == "Bad"'
# the filter must catch the known-bad frames of the hostile file itself
self=$(tshark_count -r "$data/hostile.pcap" $opts -Y "$badf") || fail=1
[ "$self" -ge 5 ] || { echo "FAIL: the tshark filter catches only $self known-bad frames"; fail=1; }
bad=$(tshark_count -r "$out/answers.pcap" $opts -Y "$badf") || fail=1
[ "$bad" -eq 0 ] || { echo "FAIL: $bad answers malformed or with bad checksums"; fail=1; }
echo "answers: $total frames, all expected, $bad malformed"
[ $fail -eq 0 ] && echo PASS
exit $fail

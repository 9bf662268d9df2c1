#!/bin/sh
# tcp_capture_check.sh PCAP clean|faults
# tshark judges a TCP capture: every frame decodes, no malformed frame, no
# expert error, no bad IP or TCP checksum; on a clean run (nothing injected)
# also no tcp.analysis problem at all: no retransmission, duplicate ACK,
# out-of-order or lost segment.
set -u
pcap=$1 mode=$2
. "$(dirname "$0")/lib.sh"
# the payload is a random stream: keep tshark's heuristics from reading it
# as some protocol (port 5000 looks like IPA/RSL to it)
opts="-o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE -d tcp.port==5000,data -d tcp.port==5001,data"
total=$(tshark_count -r "$pcap" $opts) || exit 1
tcpn=$(tshark_count -r "$pcap" $opts -Y tcp) || exit 1
# 0xffff for a sum of zero is the other ones' complement zero: Linux sends it
# now and then, tshark calls it bad (RFC 1624 prefers 0x0000); it is valid
bad=$(tshark_count -r "$pcap" $opts -Y '_ws.malformed || _ws.expert.severity >= "error" || ip.checksum.status == "Bad" || (tcp.checksum.status == "Bad" && !(tcp.checksum == 0xffff && tcp.checksum_calculated == 0x0000))') || exit 1
# the filter must catch the committed malformed frames, or it proves nothing
self=$(tshark_count -r "$(dirname "$0")/data/malformed.pcap" $opts -Y '_ws.malformed || _ws.expert.severity >= "error" || ip.checksum.status == "Bad" || tcp.checksum.status == "Bad"') || exit 1
[ "$self" -ge 10 ] || { echo "FAIL: the filter catches only $self known-bad frames"; exit 1; }
prob='tcp.analysis.retransmission || tcp.analysis.fast_retransmission || tcp.analysis.spurious_retransmission || tcp.analysis.out_of_order || tcp.analysis.lost_segment || tcp.analysis.ack_lost_segment || tcp.analysis.duplicate_ack'
flags=$(tshark_count -r "$pcap" $opts -Y "$prob") || exit 1
echo "$pcap: $total frames, $tcpn TCP, $bad malformed or bad checksums, $flags tcp.analysis problems"
[ "$tcpn" -gt 0 ] || { echo "FAIL: no TCP in the capture"; exit 1; }
[ "$bad" -eq 0 ] || { echo "FAIL: malformed frames or bad checksums"; exit 1; }
if [ "$mode" = clean ] && [ "$flags" -ne 0 ]; then
	tshark -r "$pcap" -Y "$prob" 2>/dev/null | head -5
	echo "FAIL: tcp.analysis flags on a run with nothing injected"
	exit 1
fi
exit 0

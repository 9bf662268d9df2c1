#!/bin/sh
# capture_check.sh GEN DIR DATADIR - run capture_gen with ZCS_PCAP and let tshark judge
# the capture: every frame present, none malformed, IPv4/UDP/TCP/ICMP
# checksums verified good, no expert error, no TCP analysis flag.
set -eu
gen=$1
dir=$2
data=$3
. "$(dirname "$0")/lib.sh"
mkdir -p "$dir"
pcap="$dir/capture-test.pcap"
rm -f "$pcap"
n=$(ZCS_PCAP="$pcap" "$gen") || { echo "FAIL: capture_gen: exit status $?"; exit 1; }
opts="-o ip.check_checksum:TRUE -o udp.check_checksum:TRUE -o tcp.check_checksum:TRUE"
total=$(tshark_count -r "$pcap" $opts)
echo "capture: $n frames sent, tshark reads $total"
[ "$total" -eq "$n" ] || { echo "FAIL: frame count"; exit 1; }
badf='_ws.malformed || _ws.expert.severity >= "error" || ip.checksum.status == "Bad" || udp.checksum.status == "Bad" || tcp.checksum.status == "Bad" || icmp.checksum.status == "Bad"'
# the filter must catch the committed malformed frames, or it proves nothing
self=$(tshark_count -r "$data/malformed.pcap" $opts -Y "$badf")
[ "$self" -gt 10 ] || { echo "FAIL: the tshark filter does not catch known-bad frames"; exit 1; }
bad=$(tshark_count -r "$pcap" $opts -Y "$badf")
[ "$bad" -eq 0 ] || { tshark -r "$pcap" $opts -Y '_ws.malformed || _ws.expert.severity >= "error"' 2>/dev/null | head; echo "FAIL: $bad bad frames"; exit 1; }
good=$(tshark_count -r "$pcap" $opts -Y 'ip.checksum.status == "Good" && (udp.checksum.status == "Good" || tcp.checksum.status == "Good" || icmp.checksum.status == "Good")')
ipn=$(tshark_count -r "$pcap" -Y 'ip')
echo "capture: $good of $ipn IPv4 frames with verified-good IP and L4 checksums"
[ "$good" -eq "$ipn" ] && [ "$ipn" -gt 0 ] || { echo "FAIL: unverified checksums"; exit 1; }
flags=$(tshark_count -r "$pcap" -Y 'tcp.analysis.flags')
[ "$flags" -eq 0 ] || { tshark -r "$pcap" -Y 'tcp.analysis.flags' 2>/dev/null | head; echo "FAIL: tcp.analysis flags"; exit 1; }
ns=$(tshark -r "$pcap" -T fields -e frame.time_epoch -c 1 2>/dev/null) ||
	{ echo "FAIL: tshark: no first timestamp"; exit 1; }
echo "capture: first timestamp $ns (nanosecond resolution)"
echo "PASS: capture decodes cleanly"

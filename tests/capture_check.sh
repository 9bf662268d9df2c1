#!/bin/sh
# capture_check.sh GEN DIR DATADIR - run capture_gen with ZCS_PCAP and let tshark judge
# the capture: every frame present, none malformed, IPv4/UDP/TCP/ICMP
# checksums verified good, no expert error, no TCP analysis flag.
set -eu
gen=$1
dir=$2
data=$3
mkdir -p "$dir"
pcap="$dir/capture-test.pcap"
rm -f "$pcap"
n=$(ZCS_PCAP="$pcap" "$gen")
opts="-o ip.check_checksum:TRUE -o udp.check_checksum:TRUE -o tcp.check_checksum:TRUE"
total=$(tshark -r "$pcap" $opts 2>/dev/null | wc -l)
echo "capture: $n frames sent, tshark reads $total"
[ "$total" -eq "$n" ] || { echo "FAIL: frame count"; exit 1; }
badf='_ws.malformed || _ws.expert.severity >= "error" || ip.checksum.status == "Bad" || udp.checksum.status == "Bad" || tcp.checksum.status == "Bad" || icmp.checksum.status == "Bad"'
# the filter must catch the committed malformed frames, or it proves nothing
self=$(tshark -r "$data/malformed.pcap" $opts -Y "$badf" 2>/dev/null | wc -l)
[ "$self" -gt 10 ] || { echo "FAIL: the tshark filter does not catch known-bad frames"; exit 1; }
bad=$(tshark -r "$pcap" $opts -Y "$badf" 2>/dev/null | wc -l)
[ "$bad" -eq 0 ] || { tshark -r "$pcap" $opts -Y '_ws.malformed || _ws.expert.severity >= "error"' 2>/dev/null | head; echo "FAIL: $bad bad frames"; exit 1; }
good=$(tshark -r "$pcap" $opts -Y 'ip.checksum.status == "Good" && (udp.checksum.status == "Good" || tcp.checksum.status == "Good" || icmp.checksum.status == "Good")' 2>/dev/null | wc -l)
ipn=$(tshark -r "$pcap" -Y 'ip' 2>/dev/null | wc -l)
echo "capture: $good of $ipn IPv4 frames with verified-good IP and L4 checksums"
[ "$good" -eq "$ipn" ] && [ "$ipn" -gt 0 ] || { echo "FAIL: unverified checksums"; exit 1; }
flags=$(tshark -r "$pcap" -Y 'tcp.analysis.flags' 2>/dev/null | wc -l)
[ "$flags" -eq 0 ] || { tshark -r "$pcap" -Y 'tcp.analysis.flags' 2>/dev/null | head; echo "FAIL: tcp.analysis flags"; exit 1; }
ns=$(tshark -r "$pcap" -T fields -e frame.time_epoch -c 1 2>/dev/null)
echo "capture: first timestamp $ns (nanosecond resolution)"
echo "PASS: capture decodes cleanly"

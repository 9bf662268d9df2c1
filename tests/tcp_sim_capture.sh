#!/bin/sh
# tcp_sim_capture.sh TCP_SIM DIR
# Captures of the simulated wire, judged by tshark (tcp_capture_check.sh): a
# clean transfer must show no tcp.analysis problem at all; one with loss,
# duplication, reordering and delay must decode without a malformed frame or
# a bad checksum (corruption is left out: it makes bad checksums on purpose).
set -u
sim=$1 dir=$2
here=$(dirname "$0")
mkdir -p "$dir"
rm -f "$dir"/sim-*.pcap.*
fail=0
ZCS_PCAP="$dir/sim-clean.pcap" "$sim" --bytes 4194304 --both-ways --seed 11 >/dev/null || fail=1
ZCS_PCAP="$dir/sim-faults.pcap" "$sim" --bytes 4194304 --both-ways --seed 12 --loss 0.02 --dup 0.02 \
	--reorder 0.02 --delay 10ms >/dev/null || fail=1
for side in client server; do
	"$here/tcp_capture_check.sh" "$dir/sim-clean.pcap.$side" clean || fail=1
	"$here/tcp_capture_check.sh" "$dir/sim-faults.pcap.$side" faults || fail=1
done
[ $fail -eq 0 ] && echo PASS
exit $fail

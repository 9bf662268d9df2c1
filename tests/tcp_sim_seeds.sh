#!/bin/sh
# tcp_sim_seeds.sh TCP_SIM FIRST LAST BYTES - run the all-faults simulation
# for every seed from FIRST to LAST; print each failing seed (replay it with
# tcp_sim --seed N ...) and pass only when none failed.
set -u
sim=$1 first=$2 last=$3 bytes=$4
fails=0
s=$first
while [ "$s" -le "$last" ]; do
	if ! "$sim" --bytes "$bytes" --both-ways --loss 0.05 --dup 0.02 --reorder 0.05 --corrupt 0.005 \
		--delay 50ms --seed "$s" >/tmp/tcp_sim_seed.$$ 2>&1; then
		echo "FAIL: seed $s"; tail -5 /tmp/tcp_sim_seed.$$
		fails=$((fails + 1))
	fi
	s=$((s + 1))
done
rm -f /tmp/tcp_sim_seed.$$
echo "seeds $first..$last: $fails failed"
[ $fails -eq 0 ]

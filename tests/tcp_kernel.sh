#!/bin/sh
# tcp_kernel.sh TCP_PEER BYTES [FAULTS] [PCAPDIR]
# TCP against the Linux kernel over DPDK net_tap, in a network namespace made
# here (the stack is 10.9.0.2, the kernel 10.9.0.1):
#  1. kernel client -> stack server: socat connects and sends BYTES of a
#     seeded stream while the stack sends BYTES back on the same connection;
#  2. stack client -> kernel server: the same with socat listening.
# (socat, not nc: nc quits when the network side ends first, socat -t waits
# for the other direction.)
# Each side's SHA-256 of what it received must equal the sender's.
# FAULTS (e.g. "loss=0.01,reorder=0.01,dir=both,seed=3") goes to ZCS_FAULTS on
# the stack's NIC, so the kernel's TCP meets loss and reordering too.
# PCAPDIR: the stack's NIC is captured there (ZCS_PCAP) for tshark.
# Skips (77) without root, /dev/net/tun or nc.
set -u
peer=$1 bytes=$2 faults=${3:-} pcapdir=${4:-}
[ "$(id -u)" = 0 ] && [ -c /dev/net/tun ] && command -v socat >/dev/null ||
	{ echo "SKIP: needs root, /dev/net/tun and socat"; exit 77; }
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/netns.sh"
ns_setup zctcp
# the kernel's sockets use cubic, Linux's default and the stack's, whatever
# this host chose (a namespace may not change tcp_congestion_control, but
# root may set TCP_CONGESTION on a socket; an accepted one inherits it)
cubic=setsockopt-string=6:13:cubic
stackenv() { # the environment of the stack process for test $1
	[ -n "$faults" ] && echo "ZCS_FAULTS=$faults"
	[ -n "$pcapdir" ] && echo "ZCS_PCAP=$pcapdir/tcp-kernel-$1.pcap"
}
fail=0
check() { # what stack_file kernel_received_hash kernel_sent_hash [drops_file]
	sent=$(awk '$1 == "sent" { print $3 }' "$2")
	got=$(awk '$1 == "received" { print $3 }' "$2")
	n=$(awk '$1 == "received" { print $2 }' "$2")
	if [ "$sent" = "$3" ] && [ "$got" = "$4" ] && [ "$n" = "$bytes" ]; then
		echo "$1: $bytes bytes each way, SHA-256 equal ($(awk '$1 == "seconds" { print $4 }' "$2") MB/s)"
		# each direction's goodput in the same run (reported, not judged:
		# bench/kernel_loss.sh makes the figures)
		awk -v dt="$(cat "${5:-/dev/null}" 2>/dev/null)" -v dr="$(cat "${5:-/dev/null}.rx" 2>/dev/null)" \
			'$1 == "goodput" { printf "  goodput: the stack sent %s MB/s, the kernel sent %s MB/s (tap drops: the kernel'"'"'s %s, ours %s)\n", $3, $5, dt, dr }' "$2"
	else
		echo "FAIL: $1: stack sent $sent, kernel got $3; kernel sent $4, stack got $got ($n bytes)"
		cat "$2"
		fail=1
	fi
}
rc_ok() { # FILE WHAT: a status a pipeline's part left in FILE is 0
	[ "$(cat "$1" 2>/dev/null)" = 0 ] || { echo "FAIL: $2: exit status $(cat "$1" 2>/dev/null || echo unknown)"; fail=1; }
}
[ -n "$pcapdir" ] && mkdir -p "$pcapdir"

# 1: the kernel connects
nsx env $(stackenv 1) "$peer" --nic dpdk:net_tap0,iface=zc0 --ip 10.9.0.2/24 --listen 5000 \
	--send "$bytes" --seed 2 --timeout 300 >"$out/s1" 2>&1 &
spid=$!
up_tap || fail=1
tap_drops "$out/d1"
# (the kernel's SYN waits for the stack's ARP reply, which comes once its
# stack polls, after it listens: no readiness wait needed before it)
nsx sh -c "{ '$peer' --gen '$bytes' --seed 1 2>'$out/g1'; echo \$? >'$out/g1.rc'; } |
	{ socat -t 300 -b 65536 - TCP:10.9.0.2:5000,$cubic; echo \$? >'$out/c1.rc'; } | sha256sum >'$out/k1'"
rc_ok "$out/g1.rc" "the kernel's stream generator (1)"
rc_ok "$out/c1.rc" "the kernel's socat client"
wait_pid_status $spid "the stack server" || fail=1
wait_pid_status $tap_drops_pid "the tap queue monitor (1)" || fail=1
check "kernel client -> stack server" "$out/s1" "$(cut -d' ' -f1 "$out/k1")" "$(cat "$out/g1")" "$out/d1"

# 2: the stack connects
nsx sh -c "{ '$peer' --gen '$bytes' --seed 3 2>'$out/g2'; echo \$? >'$out/g2.rc'; } |
	{ socat -t 300 -b 65536 TCP-LISTEN:5001,reuseaddr,$cubic -; echo \$? >'$out/l2.rc'; } | sha256sum >'$out/k2'" &
kpid=$!
wait_for_port tcp 5001 "the kernel's socat listener" || fail=1
# (--wait 1000: the stack polls for a second before it connects, while
# up_tap gives the kernel its address; the stack cannot see that happen)
nsx env $(stackenv 2) "$peer" --nic dpdk:net_tap0,iface=zc0 --ip 10.9.0.2/24 --connect 10.9.0.1:5001 \
	--wait 1000 --send "$bytes" --seed 4 --timeout 300 >"$out/s2" 2>&1 &
spid=$!
up_tap || fail=1
tap_drops "$out/d2"
wait_pid_status $spid "the stack client" || fail=1
wait_pid_status $kpid "the kernel's listener pipeline" || fail=1
rc_ok "$out/g2.rc" "the kernel's stream generator (2)"
rc_ok "$out/l2.rc" "the kernel's socat listener"
wait_pid_status $tap_drops_pid "the tap queue monitor (2)" || fail=1
check "stack client -> kernel server" "$out/s2" "$(cut -d' ' -f1 "$out/k2")" "$(cat "$out/g2")" "$out/d2"
[ -n "$faults" ] && grep -h "^tcp\.\(retrans_segs\|fast_retransmits\|timeouts\) " "$out/s1" "$out/s2"
if [ -n "$pcapdir" ]; then
	for i in 1 2; do
		mode=clean
		[ -n "$faults" ] && mode=faults
		# frames the kernel dropped at the tap (its queue was full while we
		# were busy) are real losses the test did not inject: then the
		# retransmissions they cause are expected, not a stack fault
		drops=$(cat "$out/d$i" 2>/dev/null || echo 0)
		if [ "$mode" = clean ] && [ "${drops:-0}" -gt 0 ]; then
			echo "the kernel dropped $drops frames at the tap queue: judging capture $i as one with losses"
			mode=faults
		fi
		"$(dirname "$0")/tcp_capture_check.sh" "$pcapdir/tcp-kernel-$i.pcap" "$mode" || fail=1
	done
fi
[ $fail -eq 0 ] && echo PASS
exit $fail

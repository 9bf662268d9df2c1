#!/bin/sh
# tap_kernel.sh PEER_BIN
# The Linux kernel as peer: a network namespace made here holds a DPDK
# net_tap device; the stack answers on 10.9.0.2, the kernel is 10.9.0.1.
#  1. the kernel's ping: 100 of 100 replies
#  2. kernel -> stack: socat sends 150 datagrams of 1000 bytes, the stack echoes
#     them; what comes back equals what was sent
#  3. stack -> kernel: the stack pings the kernel 100 times and has 200
#     datagrams echoed by a kernel socat echo server
# The responder's receive buffers are aligned for 42-byte headers (zc_hdr=42:
# Ethernet + IPv4 + UDP or ICMP), so every datagram or echo
# longer than 128 bytes (shorter ones are copied whole) must start its
# payload on a page boundary (dpdk.align_hits), and the 1000-byte
# echoes leave by reference (dpdk.tx_attached).
# Skips (77) without root, /dev/net/tun or socat.
set -u
peer=$1
[ "$(id -u)" = 0 ] && [ -c /dev/net/tun ] && command -v socat >/dev/null && command -v ping >/dev/null ||
	{ echo "SKIP: needs root, /dev/net/tun, socat and ping"; exit 77; }
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/netns.sh"
ns_setup zctap

fail=0
# --- 1 and 2: the stack responds ---
nsx "$peer" --nic dpdk:net_tap0,iface=zc0,zc_hdr=42 --ip 10.9.0.2/24 --role responder --timeout 60 >"$out/r" 2>&1 &
rpid=$!
up_tap || fail=1
nsx ping -c 100 -i 0.005 -W 1 -q 10.9.0.2 >"$out/ping" 2>&1 || { echo "FAIL: ping exit status $?"; fail=1; }
cat "$out/ping"
grep -q ' 100 received' "$out/ping" || { echo "FAIL: kernel ping"; fail=1; }
head -c 150000 /dev/urandom >"$out/send"
# a burst of echoes overruns socat's default receive buffer: ask for more
nsx socat -b 1000 -t 2 - UDP:10.9.0.2:7777,rcvbuf=1048576 <"$out/send" >"$out/back" 2>"$out/socat.err" ||
	{ echo "FAIL: socat (kernel -> stack) exit status $?"; cat "$out/socat.err"; fail=1; }
if cmp -s "$out/send" "$out/back"; then
	echo "kernel -> stack: 150 datagrams of 1000 bytes echoed intact"
else
	echo "FAIL: kernel -> stack UDP: $(wc -c <"$out/back") of 150000 bytes came back; see RcvbufErrors"; nsx grep -A1 Udp: /proc/net/snmp; fail=1
fi
printf BYE | nsx socat -t 1 - UDP:10.9.0.2:7777 >/dev/null || { echo "FAIL: socat (BYE) exit status $?"; fail=1; }
wait_pid_status $rpid "responder" || fail=1
echo "--- responder"; cat "$out/r"
grep -q '^icmp_echo_out 100$' "$out/r" || { echo "FAIL: stack answered not exactly 100 pings"; fail=1; }
hits=$(awk '$1 == "dpdk.align_hits" { print $2 }' "$out/r")
att=$(awk '$1 == "dpdk.tx_attached" { print $2 }' "$out/r")
miss=$(awk '$1 == "dpdk.align_misses" { print $2 }' "$out/r")
[ "${hits:-0}" -ge 150 ] && [ "${miss:-1}" -eq 0 ] ||
	{ echo "FAIL: ${hits:-0} payloads arrived page-aligned and ${miss:-?} did not; want >= 150 and 0"; fail=1; }
[ "${att:-0}" -ge 150 ] || { echo "FAIL: only ${att:-0} segments sent by reference, want >= 150"; fail=1; }
# net_tap offers TCP/UDP checksum offload: the echoes' sums are the port's
# (the kernel drops a datagram whose sum is wrong, and the echo above fails)
csum=$(awk '$1 == "dpdk.tx_csum" { print $2 }' "$out/r")
[ "${csum:-0}" -ge 150 ] || { echo "FAIL: ${csum:-0} checksums filled by the port, want >= 150"; fail=1; }

# --- 3: the stack is the client, the kernel echoes ---
nsx socat -T 30 UDP-RECVFROM:7777,fork PIPE &
spid=$!
wait_for_port udp 7777 "the kernel's socat echo server" || fail=1
nsx "$peer" --nic dpdk:net_tap0,iface=zc0 --ip 10.9.0.2/24 --role client --peer 10.9.0.1 --timeout 60 \
	>"$out/c" 2>&1 &
cpid=$!
up_tap || fail=1
crc=0
wait $cpid || crc=$?
stop_pid $spid "the kernel's socat echo server" || fail=1
echo "--- client"; cat "$out/c"
grep -q '^pings 100/100$' "$out/c" || { echo "FAIL: kernel did not answer the stack's pings"; fail=1; }
grep -q '^datagrams 200/200 ' "$out/c" || { echo "FAIL: stack -> kernel UDP"; fail=1; }
[ $crc -eq 0 ] || fail=1
[ $fail -eq 0 ] && echo PASS
exit $fail

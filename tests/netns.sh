# netns.sh - sourced by the kernel-peer tests, after lib.sh: a network
# namespace of the test's own, removed (with every process in it) when the
# test exits.
#   ns_setup PREFIX   make namespace PREFIX<pid> (also $ZC_NETNS, where
#                     lib.sh's wait_for_port looks), a temp dir in $out, lo
#                     up; skips the test (77) when namespaces cannot be made
#   nsx CMD...        run CMD in the namespace
#   up_tap            wait for the stack's tap interface zc0, then give the
#                     kernel's side 10.9.0.1/24, a long queue, and bring it
#                     up; 1 (said) when zc0 never came or would not come up
#   tap_drops FILE    in the background while zc0 lives, keep the number of
#                     frames the kernel dropped on it (queue full) in FILE;
#                     the monitor's pid is in $tap_drops_pid
ns_setup() {
	ns=$1$$
	ZC_NETNS=$ns
	out=$(mktemp -d)
	trap ns_cleanup EXIT
	ip netns add "$ns" || { echo "SKIP: cannot make a network namespace"; exit 77; }
	nsx ip link set lo up
}
ns_cleanup() {
	ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	rm -rf "$out"
}
nsx() { ip netns exec "$ns" "$@"; }
zc__tap_there() { nsx ip link show zc0 >/dev/null 2>&1; }
up_tap() {
	wait_until "$ZC_WAIT" "the stack's tap interface zc0" zc__tap_there || return 1
	nsx ip addr add 10.9.0.1/24 dev zc0 2>/dev/null
	nsx ip link set zc0 txqueuelen 10000 2>/dev/null
	nsx ip link set zc0 up || { echo "FAIL: zc0 would not come up"; return 1; }
}
tap_drops() {
	echo 0 >"$1"
	( while nsx test -e /sys/class/net/zc0; do
		d=$(nsx cat /sys/class/net/zc0/statistics/tx_dropped 2>/dev/null) && [ -n "$d" ] && echo "$d" >"$1"
		# and what the kernel dropped of ours (its input backlog was full)
		d=$(nsx cat /sys/class/net/zc0/statistics/rx_dropped 2>/dev/null) && [ -n "$d" ] && echo "$d" >"$1.rx"
		# a sample every 50 ms for as long as zc0 lives: a monitor, not a wait
		sleep 0.05
	done ) &
	tap_drops_pid=$!
}

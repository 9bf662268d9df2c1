# lib.sh - sourced by the shell tests (POSIX sh, safe under set -eu): waits
# for readiness with a bound and a clear failure, instead of sleeps, and
# checks of the processes the tests start. A wait that runs out prints
# "FAIL: WHAT: not ready after N s" and returns 1; the caller decides
# whether that ends the test.
#   retry TRIES CMD...            CMD until it succeeds, at most TRIES times
#   wait_until SECS WHAT CMD...   CMD until it succeeds, for about SECS seconds
#   wait_for_file PATH WHAT [SECS]       PATH exists
#   wait_for_log FILE TEXT WHAT [SECS]   FILE has a line matching TEXT (grep)
#   wait_for_unix PATH WHAT [SECS]       a unix socket bound to PATH (also an
#                                        abstract one, as DPDK's memif makes)
#   wait_for_port tcp|udp PORT WHAT [SECS]  a kernel socket listening on PORT,
#                                        in the test's namespace ($ZC_NETNS,
#                                        set by netns.sh) when there is one
#   wait_for_zc_listen ZCSTAT PID PORT WHAT [SECS]  a program under zcrun
#                                        (PID, or its child: timeout forks one)
#                                        listens on PORT of its stack; the
#                                        kernel's ss cannot see the wire, zcstat can
#   wait_pid_status PID WHAT [STATUS...]  wait for background process PID; its
#                                        exit status must be one of STATUS (0)
#   stop_pid PID WHAT                    end a server the test no longer needs:
#                                        SIGTERM, then it must end by it (143)
#                                        or cleanly (0), not have failed before
#   lines CMD...                         the number of lines CMD prints, and
#                                        CMD's status (a count from a failed
#                                        tshark is no count)
#   tshark_count ARGS...                 lines of tshark ARGS (its stderr
#                                        dropped); a FAIL line on stderr and 1
#                                        when tshark fails

ZC_WAIT=${ZC_WAIT:-30} # seconds a readiness wait lasts unless told: the machine may be loaded
ZC_POLL_PER_S=20       # tries per second

retry() {
	_tries=$1
	shift
	while :; do
		"$@" && return 0
		_tries=$((_tries - 1))
		[ "$_tries" -gt 0 ] || return 1
		# the poll interval of every wait here: what is awaited (a file, a
		# port, a log line, another process's socket) gives nothing to block on
		sleep 0.05
	done
}

wait_until() {
	_secs=$1 _what=$2
	shift 2
	retry $((_secs * ZC_POLL_PER_S)) "$@" && return 0
	echo "FAIL: $_what: not ready after $_secs s"
	return 1
}

wait_for_file() { wait_until "${3:-$ZC_WAIT}" "$2" test -e "$1"; }

wait_for_log() { wait_until "${4:-$ZC_WAIT}" "$3" grep -q "$2" "$1"; }

zc__unix_bound() { awk -v p="$1" '$NF == p || $NF == "@" p { f = 1 } END { exit !f }' /proc/net/unix; }
wait_for_unix() { wait_until "${3:-$ZC_WAIT}" "$2" zc__unix_bound "$1"; }

zc__port_listening() { # tcp|udp PORT
	[ "$1" = udp ] && _p=u || _p=t
	[ -n "$(${ZC_NETNS:+ip netns exec "$ZC_NETNS"} ss -Hln$_p "sport = :$2" 2>/dev/null)" ]
}
wait_for_port() { wait_until "${4:-$ZC_WAIT}" "$3" zc__port_listening "$1" "$2"; }

zc__zc_listening() { # ZCSTAT PID PORT
	for _p in $2 $(pgrep -P "$2" 2>/dev/null); do
		"$1" "$_p" 2>/dev/null | grep -q "^fd [0-9]* tcp LISTEN [0-9.]*:$3 " && return 0
	done
	return 1
}
wait_for_zc_listen() { wait_until "${5:-$ZC_WAIT}" "$4" zc__zc_listening "$1" "$2" "$3"; }

wait_pid_status() {
	_pid=$1 _what=$2
	shift 2
	[ $# -gt 0 ] || set -- 0
	_st=0
	wait "$_pid" || _st=$?
	for _want; do
		[ "$_st" -eq "$_want" ] && return 0
	done
	echo "FAIL: $_what: exit status $_st, want $*"
	return 1
}

stop_pid() {
	kill "$1" 2>/dev/null || true
	wait_pid_status "$1" "$2 (stopped by the test)" 0 143
}

lines() {
	_f=$(mktemp) || return 1
	_st=0
	"$@" >"$_f" || _st=$?
	wc -l <"$_f"
	rm -f "$_f"
	return $_st
}

tshark_count() {
	lines tshark "$@" 2>/dev/null && return 0
	echo "FAIL: tshark $* failed" >&2
	return 1
}

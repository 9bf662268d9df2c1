#!/bin/sh
# epoll_conf.sh ZCRUN ZCSTAT EPOLL_CONF - epoll, poll and select on the
# stack as on the kernel: epoll_conf's scenarios (epoll_conf.c lists them:
# level, edge, one-shot, RDHUP and resets, listeners, epoll_ctl's errors,
# stack sockets with pipes, unix sockets, eventfds and timerfds in one set,
# an epoll fd inside another and inside poll and select, EPOLLEXCLUSIVE
# with several waiting threads, epoll_pwait2, a dup keeping a socket in a
# set, select above FD_SETSIZE, SIGIO with O_ASYNC and SIGURG for urgent
# data) run on the kernel over 127.0.0.1 and under
# zcrun over its own stack address; the two must print the same lines, and
# zcstat must show the connections on the stack.
set -eu
ZCRUN=$1
ZCSTAT=$2
EC=$3
W="ec$$"
D=$(mktemp -d)
pid=""
trap 'kill $pid 2>/dev/null || true; rm -rf "$D"; rm -f /dev/shm/zcwire-$W*' EXIT
fail() { echo "FAIL: $*"; exit 1; }
. "$(dirname "$0")/lib.sh"

timeout 60 "$EC" 127.0.0.1 > "$D/kernel" 2>&1 || { cat "$D/kernel"; fail "epoll_conf on the kernel"; }
echo "ok: the kernel: $(grep -c '^==' "$D/kernel") scenarios, $(grep -vc '^==' "$D/kernel") lines"

timeout 60 "$ZCRUN" --nic "trapeze:$W,port=0" --ip 10.7.2.1/24 -- "$EC" --hold "$D" 10.7.2.1 > "$D/stack" 2> "$D/stack.err" &
pid=$!
wait_for_file "$D/hold" "epoll_conf under zcrun to finish its scenarios" 50 || { cat "$D/stack" "$D/stack.err"; fail "no hold"; }
st=""
for p in $pid $(pgrep -P "$pid" 2>/dev/null || true); do
	"$ZCSTAT" "$p" > "$D/stat" 2>/dev/null && st=$p && break
done
[ -n "$st" ] || fail "zcstat of epoll_conf"
touch "$D/go"
wait_pid_status $pid "epoll_conf under zcrun" || { cat "$D/stack" "$D/stack.err"; fail "epoll_conf under zcrun"; }
pid=""
if ! diff -u "$D/kernel" "$D/stack" > "$D/diff"; then
	cat "$D/diff"
	fail "the stack's events differ from the kernel's (- kernel, + stack)"
fi
echo "ok: the stack printed the same $(wc -l < "$D/stack") lines"
# the connections were the stack's: its own address, accepted by it
grep -q "^fd [0-9]* tcp ESTABLISHED .*10.7.2.1:" "$D/stat" || { cat "$D/stat"; fail "zcstat: no connection on the stack"; }
n=$(sed -n 's/^tcp.passive_opens //p' "$D/stat")
[ -n "$n" ] && [ "$n" -ge 15 ] || fail "zcstat: tcp.passive_opens is '$n', want >= 15"
for b in bypass_socket bypass_ioctl bypass_sockopt; do
	v=$(sed -n "s/^$b //p" "$D/stat")
	[ -z "$v" ] || [ "$v" -eq 0 ] || fail "zcstat: $b is $v"
done
echo "ok: zcstat: $n connections accepted by the stack, one held ESTABLISHED, nothing bypassed"

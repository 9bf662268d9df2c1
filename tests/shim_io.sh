#!/bin/sh
# shim_io.sh ZCRUN ZCSTAT SHIM_IO - every way a program reads and writes a
# socket, on the stack: shim_io (built with _FORTIFY_SOURCE=2 -O2) as server
# and client under zcrun on the two ports of a Trapeze wire. Each phase's
# bytes are checked by SHA-256 inside shim_io (shim_io.c lists them); here:
#   the binary really calls glibc's fortified entry points (__read_chk, ...)
#   zcstat of both, while they hold the connection, shows it ESTABLISHED on
#   the stack, and no ioctl went to a placeholder
#   the client's aio_reads on a stack socket (not carried) count as
#   bypass_call in zcstat and are told once on stderr
#   both ends pass every phase and exit 0
set -eu
ZCRUN=$1
ZCSTAT=$2
IO=$3
W="io$$"
D=$(mktemp -d)
srv=""; cli=""
trap 'kill $srv $cli 2>/dev/null || true; rm -rf "$D"; rm -f /dev/shm/zcwire-$W*' EXIT
A="--nic trapeze:$W,port=0 --ip 10.7.1.1/24"
B="--nic trapeze:$W,port=1 --ip 10.7.1.2/24"
fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }
. "$(dirname "$0")/lib.sh"

syms=$(nm -D "$IO")
for f in __read_chk __recv_chk __recvfrom_chk __pread64_chk __poll_chk __ppoll_chk; do
	echo "$syms" | grep -q " U $f" || fail "shim_io does not call $f (not built with _FORTIFY_SOURCE?)"
done
ok "shim_io calls glibc's fortified read, recv, recvfrom, pread64, poll, ppoll"

timeout 50 "$ZCRUN" $A -- "$IO" server 10.7.1.1 5400 "$D/hold" > "$D/srv" 2>&1 &
srv=$!
wait_for_zc_listen "$ZCSTAT" "$srv" 5400 "shim_io server on port 5400" || { cat "$D/srv"; exit 1; }
timeout 50 "$ZCRUN" $B -- "$IO" client 10.7.1.1 5400 "$D/go" "$D/hold" > "$D/cli" 2>&1 &
cli=$!
# the server holds its connection (or one of them ended early)
held() { [ -e "$D/hold" ] || ! kill -0 $srv 2>/dev/null || ! kill -0 $cli 2>/dev/null; }
wait_until 45 "the server holding its connection" held || { cat "$D/srv" "$D/cli"; exit 1; }
[ -e "$D/hold" ] || { cat "$D/srv" "$D/cli"; fail "shim_io ended before the hold"; }
# both ends on the stack: each one's zcstat shows the connection
for who in srv cli; do
	pid=$(eval echo \$$who)
	st=""
	for p in $pid $(pgrep -P "$pid" 2>/dev/null || true); do
		"$ZCSTAT" "$p" > "$D/stat.$who" 2>/dev/null && st=$p && break
	done
	[ -n "$st" ] || fail "zcstat of the $who"
	grep -q "^fd [0-9]* tcp ESTABLISHED .*10.7.1.1:5400" "$D/stat.$who" || { cat "$D/stat.$who"; fail "zcstat: the $who's connection is not on the stack"; }
	grep -q "^bypass_ioctl 0$" "$D/stat.$who" || { grep ^bypass "$D/stat.$who"; fail "the $who sent an ioctl to a placeholder"; }
	# the client's two aio_reads on a stack socket were not carried: counted
	[ $who = cli ] && n=2 || n=0
	grep -q "^bypass_call $n$" "$D/stat.$who" || { grep ^bypass "$D/stat.$who"; fail "the $who: bypass_call is not $n"; }
done
ok "zcstat: the connection is on the stack at both ends"
touch "$D/go"
wait_pid_status $cli "shim_io client" || { cat "$D/cli"; fail "client"; }
cli=""
wait_pid_status $srv "shim_io server" || { cat "$D/srv"; fail "server"; }
srv=""
cat "$D/srv" "$D/cli" | grep '^ok:' || true
grep -q "^PASS: shim_io server" "$D/srv" || fail "server did not pass"
grep -q "^PASS: shim_io client" "$D/cli" || fail "client did not pass"
l=$(grep -c "bypass call: aio_read(fd [0-9]*) on a stack socket" "$D/cli" || true)
[ "$l" = 1 ] || { cat "$D/cli"; fail "aio_read on a stack socket told $l times, want once"; }
ok "aio_read on a stack socket: refused, counted twice, told once"
echo "PASS: shim-io"

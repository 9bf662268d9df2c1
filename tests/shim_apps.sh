#!/bin/sh
# shim_apps.sh ZCRUN ZCSTAT MIXED_POLL POLICY - unmodified programs on zcstack:
# two zcrun processes on a Trapeze wire, under one zero-copy policy.
#   nc: a file each way (with shutdown), byte-exact (sha256)
#   socat: a TCP listener writing a file, a client reading one, byte-exact
#   iperf3: -t 2 plain, -R, -P 4, -Z; exit 0, data moved (iperf3 does not
#   check its bytes; what it received is at most, and near, what it sent)
#   mixed_poll: poll and select over a pipe, a file and a stack socket
set -eu
ZCRUN=$1
ZCSTAT=$2
MIXED=$3
POL=$4
W="sa$$"
D=$(mktemp -d)
srv=""; cli=""
trap 'kill $srv $cli 2>/dev/null || true; rm -rf "$D"; rm -f /dev/shm/zcwire-$W*' EXIT
A="--nic trapeze:$W,port=0 --ip 10.7.0.1/24 --zc $POL"
B="--nic trapeze:$W,port=1 --ip 10.7.0.2/24 --zc $POL"
fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }
. "$(dirname "$0")/lib.sh"
# a server under zcrun is ready when zcstat shows it listening (PORT)
listening() { wait_for_zc_listen "$ZCSTAT" "$srv" "$1" "the server on port $1" || exit 1; }

head -c 24000000 /dev/urandom > "$D/in"
want=$(sha256sum < "$D/in")

# nc, client to server
timeout 30 "$ZCRUN" $A -- nc -l -N 10.7.0.1 5000 > "$D/out1" &
srv=$!
listening 5000
timeout 30 "$ZCRUN" $B -- nc -N 10.7.0.1 5000 < "$D/in" || fail "nc client"
wait $srv || fail "nc server"
[ "$(sha256sum < "$D/out1")" = "$want" ] || fail "nc client->server: bytes differ"
ok "nc client->server 24 MB byte-exact"

# nc, server to client
timeout 30 "$ZCRUN" $A -- nc -l -N 10.7.0.1 5001 < "$D/in" &
srv=$!
listening 5001
timeout 30 "$ZCRUN" $B -- nc -d 10.7.0.1 5001 > "$D/out2" || fail "nc client (receiving)"
wait $srv || fail "nc server (sending)"
[ "$(sha256sum < "$D/out2")" = "$want" ] || fail "nc server->client: bytes differ"
ok "nc server->client 24 MB byte-exact"

# socat listener and client, with files
timeout 30 "$ZCRUN" $A -- socat -u TCP-LISTEN:5002,bind=10.7.0.1,reuseaddr "CREATE:$D/out3" &
srv=$!
listening 5002
timeout 30 "$ZCRUN" $B -- socat -u "OPEN:$D/in" TCP:10.7.0.1:5002 || fail "socat client"
wait $srv || fail "socat listener"
[ "$(sha256sum < "$D/out3")" = "$want" ] || fail "socat: bytes differ"
ok "socat file through a TCP listener byte-exact"

# zcstat sees a running program's connection
timeout 30 "$ZCRUN" $A -- iperf3 -s -1 -B 10.7.0.1 -p 5201 > /dev/null 2>&1 &
srv=$!
listening 5201
timeout 30 "$ZCRUN" $B -- iperf3 -c 10.7.0.1 -p 5201 -t 2 > /dev/null 2>&1 &
cli=$!
# the client runs 2 s: zcstat of the server until it shows the connection
connected() {
	"$ZCSTAT" $(pgrep -P $srv iperf3 || echo $srv) > "$D/stat" 2>&1 &&
		grep -q "^fd .* tcp ESTABLISHED 10.7.0.1:5201" "$D/stat"
}
wait_until 10 "zcstat of the iperf3 server" connected || true
wait_pid_status $cli "iperf3 client under zcstat" || fail "iperf3 under zcstat"
wait_pid_status $srv "iperf3 server under zcstat" || fail "iperf3 server under zcstat"
grep -q "^fd .* tcp ESTABLISHED 10.7.0.1:5201" "$D/stat" || { cat "$D/stat"; fail "zcstat shows no connection"; }
ok "zcstat: $(grep -c '^fd ' "$D/stat") sockets, $(grep '^zcopy_policy' "$D/stat")"

# iperf3 in four ways
for extra in "" "-R" "-P 4" "-Z"; do
	timeout 30 "$ZCRUN" $A -- iperf3 -s -1 -B 10.7.0.1 -p 5201 > "$D/ips" 2>&1 &
	srv=$!
	listening 5201
	timeout 30 "$ZCRUN" $B -- iperf3 -c 10.7.0.1 -p 5201 -t 2 -J $extra > "$D/ipc" 2> "$D/ipc.err" ||
		{ cat "$D/ipc" "$D/ipc.err" | tail -20; fail "iperf3 $extra"; }
	wait $srv || { cat "$D/ips" | tail -20; fail "iperf3 server $extra"; }
	r=$(python3 -c '
import json,sys
j=json.load(open(sys.argv[1]))
s=j["end"]["sum_sent"]["bytes"]; r=j["end"]["sum_received"]["bytes"]
print("%d %d %.2f" % (s, r, j["end"]["sum_received"]["bits_per_second"]/1e9))
' "$D/ipc")
	set -- $r
	[ "$2" -gt 100000000 ] && [ "$2" -le "$1" ] && [ $(($2 * 100 / $1)) -ge 90 ] ||
		fail "iperf3 $extra: sent $1 received $2"
	ok "iperf3 -t 2 $extra: $2 bytes sent and received, $3 Gbit/s"
done

# one poll and one select over a pipe, a file and a stack socket
printf 'hello from the stack\n' > "$D/msg"
timeout 30 "$ZCRUN" $A -- nc -l -N 10.7.0.1 5003 < "$D/msg" > /dev/null &
srv=$!
listening 5003
timeout 30 "$ZCRUN" $B -- "$MIXED" 10.7.0.1 5003 "hello from the stack" || fail "mixed_poll"
wait $srv || fail "nc server (mixed_poll)"
ok "mixed fds"
echo "PASS: policy $POL"

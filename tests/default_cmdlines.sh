#!/bin/sh
# default_cmdlines.sh ZCRUN ZCSTAT - programs run the way their manuals show
# them first, under zcrun on both ends of a Trapeze wire (server on port 0,
# client on port 1), each checked end to end (a hash of what was sent equals
# a hash of what was received, or the program's own byte counts where it
# sends no data of ours) and with zcstat showing that the server's stack
# carried the connections. Local tools (the kernel's curl, iperf3,
# redis-cli over 127.0.0.1) reach the same wildcard servers at the same time.
#   iperf3 -s (no -B: [::], dual-stack) and iperf3 -c; a kernel iperf3 -c
#     to 127.0.0.1 to the same server afterwards
#   python3 -m http.server (no --bind): a 20 MB file to a zcrun curl and a
#     kernel curl over 127.0.0.1 at the same time
#   nginx with Debian's stock site (listen 80 and [::]:80, on a high port by
#     an include; a master and worker_processes auto, as Debian's nginx.conf
#     has them, in the foreground for the test): the stack serves
#     80, [::]:80 is IPV6_V6ONLY (nginx's default) and so the kernel's, said
#     once and counted; curl over the stack, 127.0.0.1 and [::1]
#   redis-server with Debian's stock redis.conf (made runnable: port,
#     foreground, log, dir): it binds 127.0.0.1 and ::1, which are the
#     kernel's: said and counted, redis-cli over loopback works; then the
#     same file with the bind of all interfaces (bind * -::*, protected-mode
#     no): the stack carries it, a 1 MB value SET and GET byte-exact
#   socat TCP6-LISTEN and socat TCP6:[::ffff:...], a file through them
# Exits 77 (skipped) when a program is not installed.
set -eu
ZCRUN=$(realpath "$1")
ZCSTAT=$(realpath "$2")
. "$(dirname "$0")/lib.sh"
PATH=$PATH:/usr/sbin
for p in iperf3 python3 curl nginx redis-server redis-cli socat; do
	command -v $p > /dev/null 2>&1 || { echo "skip: $p is not installed (run.sh installs it)"; exit 77; }
done
W="dc$$"
D=$(mktemp -d)
SRV=""
trap 'kill $SRV 2>/dev/null || true; for p in $SRV; do wait $p || true; done; rm -rf "$D"; rm -f /dev/shm/zcwire-$W*' EXIT
A="--nic trapeze:$W,port=0 --ip 10.6.0.1/24"
B="--nic trapeze:$W,port=1 --ip 10.6.0.2/24"
fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }
h() { sha256sum < "$1" | cut -d' ' -f1; }

# zcstat of a server under zcrun (timeout's child) into $D/stat
zstat() {
	for _p in $(pgrep -P "$1" 2>/dev/null) $1; do
		"$ZCSTAT" "$_p" > "$D/stat" 2>/dev/null && return 0
	done
	fail "zcstat of pid $1"
}
# stat_at_least NAME N: zcstat's counter NAME is at least N
stat_at_least() {
	_v=$(sed -n "s/^$1 //p" "$D/stat")
	[ -n "$_v" ] && [ "$_v" -ge "$2" ] || fail "zcstat: $1 is '${_v}', want >= $2"
}
stop() { stop_pid "$1" "$2" || fail "$2 did not end cleanly"; SRV=""; rm -f /dev/shm/zcwire-$W*; }

head -c 20000000 /dev/urandom > "$D/big"
want=$(h "$D/big")

# --- iperf3 -s -----------------------------------------------------------------
timeout 60 "$ZCRUN" $A -- iperf3 -s > "$D/ips" 2>&1 &
SRV=$!
wait_for_zc_listen "$ZCSTAT" $SRV 5201 "iperf3 -s" || fail "iperf3 -s did not listen on the stack"
timeout 30 "$ZCRUN" $B -- iperf3 -c 10.6.0.1 -t 2 -J > "$D/ipc" 2> "$D/ipc.err" ||
	fail "iperf3 -c: $(tail -3 "$D/ipc.err")"
# iperf3 sends bytes of its own and counts the received ones when the test
# ends, before the last in flight arrive (so on the kernel too): received
# at most sent and near it (iperf3 -F, which would give a hash, loses data
# on a short write, in iperf3 3.12 itself)
set -- $(python3 -c '
import json, sys
e = json.load(open(sys.argv[1]))["end"]
print(int(e["sum_sent"]["bytes"]), int(e["sum_received"]["bytes"]))' "$D/ipc")
[ "$2" -gt 10000000 ] && [ "$2" -le "$1" ] && [ $(($2 / ($1 / 100))) -ge 95 ] || fail "iperf3: sent $1 received $2"
ok "iperf3 -s and iperf3 -c 10.6.0.1: $1 bytes sent, $2 received by the end of the test"
timeout 30 iperf3 -c 127.0.0.1 -t 1 -J > "$D/ipk" 2>&1 || fail "kernel iperf3 -c 127.0.0.1: $(tail -3 "$D/ipk")"
ok "a kernel iperf3 -c 127.0.0.1 reaches the same iperf3 -s"
zstat $SRV
stat_at_least tcp.passive_opens 2
stat_at_least bypass_loopback_accept 2
# (iperf3 opens a new listener after each test: its counts start again)
grep -q "^fd [0-9]* tcp LISTEN kernel-side \[::\]:5201 accepted" "$D/stat" ||
	fail "zcstat: no kernel side of the [::]:5201 listener: $(grep LISTEN "$D/stat")"
ok "zcstat: iperf3's connections over the stack, the local one over the listener's kernel side"
# (iperf3 -s ends with status 1 on SIGTERM, as on the kernel)
kill $SRV; wait_pid_status $SRV "iperf3 -s (stopped)" 0 1 143 || fail "iperf3 -s did not end cleanly"
SRV=""
rm -f /dev/shm/zcwire-$W*

# --- python3 -m http.server -----------------------------------------------------
mkdir "$D/www"
cp "$D/big" "$D/www/big.bin"
cd "$D/www"
timeout 60 "$ZCRUN" $A -- python3 -m http.server > "$D/hs" 2>&1 &
cd - > /dev/null
SRV=$!
wait_for_zc_listen "$ZCSTAT" $SRV 8000 "http.server" || fail "http.server did not listen: $(cat "$D/hs")"
timeout 30 "$ZCRUN" $B -- curl -sS -o "$D/got1" http://10.6.0.1:8000/big.bin &
c1=$!
timeout 30 curl -sS -o "$D/got2" http://127.0.0.1:8000/big.bin &
c2=$!
wait_pid_status $c1 "curl under zcrun" || fail "curl under zcrun"
wait_pid_status $c2 "kernel curl over 127.0.0.1" || fail "kernel curl"
[ "$(h "$D/got1")" = "$want" ] || fail "http.server: the stack's curl got other bytes"
[ "$(h "$D/got2")" = "$want" ] || fail "http.server: the kernel's curl got other bytes"
zstat $SRV
stat_at_least tcp.passive_opens 1
stat_at_least tcp.bytes_sent 20000000
stat_at_least bypass_loopback_accept 1
ok "python3 -m http.server: 20 MB byte-exact to a zcrun curl and, at the same time, a kernel curl to 127.0.0.1"
stop $SRV "http.server"

# --- nginx, Debian's stock site --------------------------------------------------
if [ -f /etc/nginx/sites-available/default ]; then
	mkdir -p "$D/ngx/logs" "$D/ngx/html"
	chmod a+rx "$D" # the workers run as nginx's default user, nobody
	cp "$D/big" "$D/ngx/html/big.bin"
	echo "the stock site on zcstack" > "$D/ngx/html/index.html"
	# the stock file, on port 8081 and our root: nothing else changed
	sed -e 's/listen 80 /listen 8081 /; s/listen \[::\]:80 /listen [::]:8081 /' \
		-e "s#root /var/www/html;#root $D/ngx/html;#" /etc/nginx/sites-available/default > "$D/ngx/default"
	grep -q "listen \[::\]:8081 default_server" "$D/ngx/default" || fail "the stock site changed: $(grep listen "$D/ngx/default")"
	cat > "$D/ngx/nginx.conf" <<EOF
daemon off;
worker_processes auto;
error_log $D/ngx/logs/error.log;
pid $D/ngx/nginx.pid;
events { worker_connections 64; }
http {
  include /etc/nginx/mime.types;
  sendfile on;
  access_log off;
  client_body_temp_path $D/ngx/b; proxy_temp_path $D/ngx/p; fastcgi_temp_path $D/ngx/f;
  uwsgi_temp_path $D/ngx/u; scgi_temp_path $D/ngx/s;
  include $D/ngx/default;
}
EOF
	timeout 60 "$ZCRUN" $A -- nginx -c "$D/ngx/nginx.conf" -p "$D/ngx" > "$D/ngx.err" 2>&1 &
	SRV=$!
	wait_for_zc_listen "$ZCSTAT" $SRV 8081 "nginx" || fail "nginx did not listen: $(cat "$D/ngx.err")"
	timeout 30 "$ZCRUN" $B -- curl -sS -o "$D/n1" http://10.6.0.1:8081/big.bin || fail "curl under zcrun to nginx"
	timeout 30 curl -sS -o "$D/n2" http://127.0.0.1:8081/big.bin || fail "kernel curl to nginx over 127.0.0.1"
	timeout 30 curl -sS -g -o "$D/n3" "http://[::1]:8081/index.html" || fail "kernel curl to nginx over [::1]"
	[ "$(h "$D/n1")" = "$want" ] && [ "$(h "$D/n2")" = "$want" ] || fail "nginx: the file differs"
	cmp -s "$D/n3" "$D/ngx/html/index.html" || fail "nginx over [::1]: the page differs"
	zstat $SRV
	stat_at_least tcp.passive_opens 1
	stat_at_least bypass_v6only 1
	stat_at_least bypass_loopback_accept 1
	grep -q "bypass v6only: bind(fd [0-9]*, \[::\]:8081): an IPV6_V6ONLY socket" "$D/ngx.err" ||
		fail "nginx: [::]:8081 went to the kernel without a word: $(cat "$D/ngx.err")"
	ok "nginx, Debian's stock site: listen 8081 on the stack (and its kernel side), [::]:8081 v6-only the kernel's, told; 20 MB byte-exact over the stack and 127.0.0.1, the page over [::1]"
	stop $SRV "nginx"
else
	echo "skip: nginx's stock site /etc/nginx/sites-available/default is not there"
fi

# --- redis-server, Debian's stock redis.conf ---------------------------------------
RC=/etc/redis/redis.conf
if [ -f $RC ]; then
	# runnable in a test: our port, in the foreground, a log and dir of ours
	redis_up() {
		timeout 60 "$ZCRUN" $A -- redis-server $RC --port 6391 --daemonize no --supervised no \
			--pidfile "$D/redis.pid" --logfile "$D/redis.log" --dir "$D" --save "" "$@" > "$D/rs.err" 2>&1 &
		SRV=$!
	}
	redis_up
	wait_for_log "$D/redis.log" "Ready to accept" "redis-server (stock bind)" || fail "redis-server: $(tail -3 "$D/redis.log")"
	[ "$(timeout 10 redis-cli -p 6391 PING)" = "PONG" ] || fail "redis-cli over 127.0.0.1"
	zstat $SRV
	stat_at_least bypass_bind 1
	stat_at_least bypass_ipv6 1
	grep -q "bypass bind: bind(fd [0-9]*, 127.0.0.1:6391): not the stack's address" "$D/rs.err" ||
		fail "redis: the bind to 127.0.0.1 went to the kernel without a word: $(cat "$D/rs.err")"
	ok "redis-server with the stock redis.conf (bind 127.0.0.1 -::1): the kernel's, told and counted; redis-cli over loopback works"
	stop $SRV "redis-server (stock bind)"
	: > "$D/redis.log"
	redis_up --bind "* -::*" --protected-mode no
	wait_for_zc_listen "$ZCSTAT" $SRV 6391 "redis-server (bind *)" || fail "redis-server: $(tail -3 "$D/redis.log")"
	head -c 1000000 /dev/urandom | base64 -w 0 > "$D/val"
	timeout 20 "$ZCRUN" $B -- redis-cli -h 10.6.0.1 -p 6391 -x SET big < "$D/val" > "$D/set" || fail "redis-cli SET"
	timeout 20 "$ZCRUN" $B -- redis-cli -h 10.6.0.1 -p 6391 --raw GET big | head -c "$(wc -c < "$D/val")" > "$D/rgot" ||
		fail "redis-cli GET"
	cmp -s "$D/val" "$D/rgot" || fail "redis: GET differs from SET"
	[ "$(timeout 10 redis-cli -p 6391 STRLEN big)" = "$(wc -c < "$D/val")" ] || fail "redis-cli over 127.0.0.1: STRLEN"
	zstat $SRV
	stat_at_least tcp.passive_opens 2
	stat_at_least bypass_loopback_accept 1
	ok "redis-server with the stock redis.conf and bind * -::*: a 1.3 MB value SET and GET byte-exact over the stack, seen over 127.0.0.1"
	stop $SRV "redis-server (bind *)"
else
	echo "skip: $RC is not there"
fi

# --- socat over AF_INET6 ----------------------------------------------------------
head -c 5000000 /dev/urandom > "$D/s.in"
timeout 60 "$ZCRUN" $A -- socat -u TCP6-LISTEN:5003 "CREATE:$D/s.out" &
SRV=$!
wait_for_zc_listen "$ZCSTAT" $SRV 5003 "socat TCP6-LISTEN" || fail "socat TCP6-LISTEN did not listen on the stack"
# (10.6.0.1 is only on the wire: the kernel has no way there)
timeout 30 "$ZCRUN" $B -- socat -u "OPEN:$D/s.in" "TCP6:[::ffff:10.6.0.1]:5003" ||
	fail "socat TCP6:[::ffff:10.6.0.1]"
wait_pid_status $SRV "socat TCP6-LISTEN" || fail "socat TCP6-LISTEN"
SRV=""
[ "$(h "$D/s.out")" = "$(h "$D/s.in")" ] || fail "socat TCP6: the bytes differ"
ok "socat TCP6-LISTEN and socat TCP6:[::ffff:10.6.0.1]: 5 MB byte-exact"
exit 0

#!/bin/sh
# shim_servers.sh ZCRUN [ZCSTAT] - event-driven servers on zcstack: one server under
# zcrun stays up while clients come and go one after another on the other
# port of the wire (each client is a new process claiming the port again).
#   redis-server (epoll, jemalloc): redis-cli SET of a 1 MB value and GET of
#   it back byte-exact, redis-benchmark SET/GET, then a third client's GET
#   nginx (epoll, sendfile; a master and worker_processes auto): curl of a
#   page and of a 3 MB file byte-exact, a 404,
#   three clients in turn
# Exits 77 (skipped) when redis-server or nginx is not installed.
set -eu
ZCRUN=$1
ZCSTAT=${2:-$(dirname "$ZCRUN")/zcstat}
. "$(dirname "$0")/lib.sh"
for p in redis-server redis-cli redis-benchmark nginx curl; do
	command -v $p > /dev/null 2>&1 || PATH=$PATH:/usr/sbin command -v $p > /dev/null 2>&1 ||
		{ echo "skip: $p is not installed (run.sh installs it)"; exit 77; }
done
PATH=$PATH:/usr/sbin
W="ss$$"
D=$(mktemp -d)
SRV=""
# (the servers by pid: dash's $(jobs -p) in a trap lists nothing; waited
# for, so that they have left the wire before its file goes)
trap 'kill $SRV 2>/dev/null || true; for p in $SRV; do wait $p || true; done; rm -rf "$D"; rm -f /dev/shm/zcwire-$W*' EXIT
A="--nic trapeze:$W,port=0 --ip 10.8.0.1/24"
B="--nic trapeze:$W,port=1 --ip 10.8.0.2/24"
fail() { echo "FAIL: $*"; [ -f "$D/log" ] && tail -5 "$D/log"; exit 1; }
ok() { echo "ok: $*"; }

# --- redis ----------------------------------------------------------------
timeout 60 "$ZCRUN" $A -- redis-server --bind 10.8.0.1 --port 6390 --save '' --appendonly no \
	--protected-mode no --dir "$D" > "$D/log" 2>&1 &
SRV=$!
wait_for_log "$D/log" "Ready to accept" "redis-server" || fail "redis-server did not start"
head -c 1000000 /dev/urandom | base64 -w 0 > "$D/val"
timeout 20 "$ZCRUN" $B -- redis-cli -h 10.8.0.1 -p 6390 -x SET big < "$D/val" > "$D/set" ||
	fail "redis-cli SET"
[ "$(cat "$D/set")" = "OK" ] || fail "redis SET said $(cat "$D/set")"
timeout 20 "$ZCRUN" $B -- redis-cli -h 10.8.0.1 -p 6390 --raw GET big | head -c "$(wc -c < "$D/val")" > "$D/got" ||
	fail "redis-cli GET"
cmp -s "$D/val" "$D/got" || fail "redis GET: the value differs from what SET stored"
ok "redis-server: SET and GET of a 1.3 MB value byte-exact, two clients in turn"
timeout 60 "$ZCRUN" $B -- redis-benchmark -h 10.8.0.1 -p 6390 -n 5000 -c 4 -q -t set,get > "$D/bench" 2>&1 ||
	fail "redis-benchmark"
tr '\r' '\n' < "$D/bench" | grep -E '^(SET|GET): [0-9.]+ requests per second' > "$D/rps" || true
[ "$(wc -l < "$D/rps")" -eq 2 ] || fail "redis-benchmark: $(tr '\r' '\n' < "$D/bench" | tail -3)"
ok "redis-benchmark: $(tr '\n' ' ' < "$D/rps")"
timeout 20 "$ZCRUN" $B -- redis-cli -h 10.8.0.1 -p 6390 STRLEN big > "$D/len" || fail "redis-cli STRLEN"
[ "$(cat "$D/len")" = "$(wc -c < "$D/val")" ] || fail "redis STRLEN said $(cat "$D/len")"
ok "a third client still finds the value"
stop_pid $SRV "redis-server" || fail "redis-server did not end cleanly"
SRV=""
rm -f /dev/shm/zcwire-$W

# --- nginx ----------------------------------------------------------------
mkdir -p "$D/ngx/html" "$D/ngx/logs"
chmod a+rx "$D" # the workers run as nginx's default user, nobody
echo "hello from nginx on zcstack" > "$D/ngx/html/index.html"
head -c 3000000 /dev/urandom > "$D/ngx/html/big.bin"
cat > "$D/ngx/nginx.conf" <<EOF
daemon off;
worker_processes auto;
error_log $D/ngx/logs/error.log info;
pid $D/ngx/nginx.pid;
events { worker_connections 64; }
http {
  access_log off;
  sendfile on;
  client_body_temp_path $D/ngx/b; proxy_temp_path $D/ngx/p; fastcgi_temp_path $D/ngx/f;
  uwsgi_temp_path $D/ngx/u; scgi_temp_path $D/ngx/s;
  server { listen 10.8.0.1:8080; root $D/ngx/html; }
}
EOF
: > "$D/log"
timeout 60 "$ZCRUN" $A -- nginx -c "$D/ngx/nginx.conf" -p "$D/ngx" > "$D/log" 2>&1 &
SRV=$!
wait_for_zc_listen "$ZCSTAT" $SRV 8080 "nginx" || fail "nginx did not start"
for i in 1 2 3; do
	timeout 20 "$ZCRUN" $B -- curl -sS --retry 3 --retry-connrefused -o "$D/page" http://10.8.0.1:8080/ ||
		fail "curl (client $i): page"
	cmp -s "$D/page" "$D/ngx/html/index.html" || fail "curl (client $i): page differs"
done
timeout 20 "$ZCRUN" $B -- curl -sS -o "$D/big" -o /dev/null -w '%{http_code}\n' http://10.8.0.1:8080/big.bin \
	http://10.8.0.1:8080/missing > "$D/codes" || fail "curl: big file and 404"
cmp -s "$D/big" "$D/ngx/html/big.bin" || fail "curl: the 3 MB file differs (sendfile)"
[ "$(tr '\n' ' ' < "$D/codes")" = "200 404 " ] || fail "curl: status codes $(tr '\n' ' ' < "$D/codes")"
ok "nginx: a page to three clients in turn, a 3 MB file by sendfile byte-exact, a 404"
stop_pid $SRV "nginx" || fail "nginx did not end cleanly"
grep -q "exit" "$D/ngx/logs/error.log" || fail "nginx did not exit on SIGTERM"
SRV=""
ok "nginx exits on SIGTERM"
exit 0

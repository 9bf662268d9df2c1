#!/bin/sh
# shim_procs.sh ZCRUN ZCSTAT - processes of one stack (issue 15): programs
# under zcrun on the two ports of a Trapeze wire, each check byte-exact
# (SHA-256 of what was sent equals that of what was received).
#   child-exit: a client forks after connect; the child closes its copy of
#     the socket and exits through exit() (destructors run); the parent then
#     sends 4 MiB and closes. The server receives all of it and one FIN, after
#     the parent's close: a child's close and exit leave the parent's
#     connection alone.
#   fork-half: the child of a client writes the first half (2 MiB) and
#     exits, the parent writes the rest and closes: the server receives the
#     4 MiB in order, then EOF (one FIN, after the parent's close).
#   socat-fork: socat TCP-LISTEN:...,fork (a child per connection) serving
#     50 sequential and 10 concurrent clients, each echoing 64 KiB back
#     byte-exact.
#   nginx: master_process on (nginx's default) with worker_processes 2,
#     daemonised as nginx does by default; both workers hold the listener;
#     wrk (8 connections, 4 s), then a client fetching a 256 KiB file 40
#     times on a new connection each, and `nginx -s reload` replaces the
#     workers in the middle of each. Every fetch is
#     200 and byte-exact, wrk sees no non-2xx answer and no connect, write
#     or timeout error (a read error is a keep-alive connection that an old
#     worker closed at the reload, as with the kernel: at most one each),
#     the new workers hold the listener and the old ones left the stack.
#   exec-cat: bash opens a connection (`exec 3<>/dev/tcp/...`), then
#     `exec cat <&3`: cat, a new image, takes the stack back and reads the
#     4 MiB the server sends to its end byte-exact (its stdout's SHA-256).
#   iperf3-daemon: `iperf3 -s -D` (it forks, its parent exits, the daemon
#     serves), then `iperf3 -c`: the daemon's listener on the stack, what
#     the client sent received by the daemon by the end of the test.
#   prefork-trade: a server forks 2 workers that read requests into 2 MiB
#     page-aligned buffers (ZCS_ZC=always: pool frames are traded into
#     them); a worker holding a traded frame and the stack lock is
#     SIGKILLed while requests go on: the other worker serves, the lock is
#     recovered, the dead worker's frame comes back to the pool
#     (lent_taken_back), and so does the frame of the next worker, which
#     leaves through exit(); every pool balances, every digest matches.
set -eu
ZCRUN=$1
ZCSTAT=$2
W="pr$$"
D=$(mktemp -d)
srv=""; cli=""
ipd_stop() { [ -s "$D/ipd.pid" ] && kill "$(cat "$D/ipd.pid")" 2>/dev/null || true; }
ngx_stop() { [ -s "$D/ngx/nginx.pid" ] && kill "$(cat "$D/ngx/nginx.pid")" 2>/dev/null || true; }
trap 'kill $srv $cli 2>/dev/null || true; ngx_stop; ipd_stop; rm -rf "$D"; rm -f /dev/shm/zcwire-$W*' EXIT
A="--nic trapeze:$W,port=0 --ip 10.7.2.1/24"
B="--nic trapeze:$W,port=1 --ip 10.7.2.2/24"
# wire WIRE: A and B on a wire of their own (a section's processes may still
# be leaving the last one's: socat's children, exec'd cats that drain)
wire() {
	A="--nic trapeze:$W$1,port=0 --ip 10.7.2.1/24"
	B="--nic trapeze:$W$1,port=1 --ip 10.7.2.2/24"
}
fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }
. "$(dirname "$0")/lib.sh"

# kill_holding_lock PID: PID takes the stack lock (zcstat --hold-lock) and
# is SIGKILLed while it holds it
kill_holding_lock() {
	timeout 30 "$ZCSTAT" --hold-lock 20000 "$1" > "$D/hold" 2>&1 &
	hold=$!
	wait_for_log "$D/hold" "^holding the stack lock" "process $1 holding the lock" 10 || { cat "$D/hold"; exit 1; }
	kill -9 "$1"
	wait $hold 2>/dev/null || true
}
# balanced PID: every pool of PID's stack has owned == free + in flight +
# lent, none lost and every mbuf back; else prints the pools that do not
balanced() {
	"$ZCSTAT" "$1" | awk '/^pool/ { split($15, m, "/")
		if ($5 != $7 + $9 + $11 || $13 != 0 || m[1] != m[2]) bad = bad " [" $0 "]" }
		END { if (bad != "") { print "unbalanced:" bad; exit 1 } }'
}

# the server: accepts one connection, reads to EOF and prints bytes and
# hash; with "send", sends 4 MiB instead, closes and prints what it sent
cat > "$D/srv.py" <<'EOF'
import hashlib, random, socket, sys
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("0.0.0.0", int(sys.argv[1])))
l.listen(4)
c, _ = l.accept()
if sys.argv[2:] == ["send"]:
    data = random.Random(18).randbytes(4 << 20)
    c.sendall(data)
    c.close()
    print("sent", len(data), hashlib.sha256(data).hexdigest(), flush=True)
    sys.exit(0)
h, n = hashlib.sha256(), 0
while True:
    b = c.recv(1 << 16)
    if not b:
        break
    h.update(b)
    n += len(b)
print("got", n, h.hexdigest(), flush=True)
EOF

# transfer NAME PORT SCRIPT: the server on port 1 of the wire, SCRIPT (a
# client that prints "sent BYTES SHA256") on port 0; both must end cleanly
# and the server must have received exactly what was sent ($got)
transfer() {
	timeout 50 "$ZCRUN" $B -- python3 "$D/srv.py" "$2" > "$D/srv" 2>&1 &
	srv=$!
	wait_for_zc_listen "$ZCSTAT" "$srv" "$2" "server on port $2" || { cat "$D/srv"; exit 1; }
	timeout 50 "$ZCRUN" $A -- python3 "$D/$3" "$2" > "$D/cli" 2>&1 &
	cli=$!
	wait_pid_status $cli "$1 client" || { cat "$D/cli"; fail "$1: client"; }
	cli=""
	wait_pid_status $srv "$1 server" || { cat "$D/srv"; fail "$1: server"; }
	srv=""
	sent=$(sed -n 's/^sent //p' "$D/cli")
	got=$(sed -n 's/^got //p' "$D/srv")
	[ -n "$sent" ] && [ "$sent" = "$got" ] || { cat "$D/cli" "$D/srv"; fail "$1: sent '$sent', received '$got'"; }
}

# --- child-exit ----------------------------------------------------------------------
cat > "$D/cli.py" <<'EOF'
import hashlib, os, random, socket, sys
s = socket.create_connection(("10.7.2.2", int(sys.argv[1])))
pid = os.fork()
if pid == 0:
    s.close()
    sys.exit(0)  # exit(): the preload's destructor runs in the child
_, st = os.waitpid(pid, 0)
if os.waitstatus_to_exitcode(st) != 0:
    sys.exit("child failed")
data = random.Random(15).randbytes(4 << 20)
s.sendall(data)
s.close()
print("sent", len(data), hashlib.sha256(data).hexdigest(), flush=True)
EOF
transfer child-exit 5500 cli.py
ok "child-exit: the parent's 4 MiB arrived whole after its child closed and exited ($got)"

# --- fork-half -----------------------------------------------------------------------
cat > "$D/half.py" <<'EOF'
import hashlib, os, random, socket, sys
s = socket.create_connection(("10.7.2.2", int(sys.argv[1])))
data = random.Random(16).randbytes(4 << 20)
h = len(data) // 2
pid = os.fork()
if pid == 0:
    s.sendall(data[:h])
    sys.exit(0)
_, st = os.waitpid(pid, 0)
if os.waitstatus_to_exitcode(st) != 0:
    sys.exit("child failed")
s.sendall(data[h:])
s.close()
print("sent", len(data), hashlib.sha256(data).hexdigest(), flush=True)
EOF
transfer fork-half 5501 half.py
ok "fork-half: a child's 2 MiB and its parent's 2 MiB arrived in order ($got)"

# --- socat-fork ----------------------------------------------------------------------
if command -v socat > /dev/null; then
	timeout 80 "$ZCRUN" $B -- socat TCP-LISTEN:5502,reuseaddr,fork EXEC:cat > "$D/socat" 2>&1 &
	srv=$!
	wait_for_zc_listen "$ZCSTAT" "$srv" 5502 "socat on port 5502" || { cat "$D/socat"; exit 1; }
	cat > "$D/echo.py" <<'EOF'
import hashlib, random, socket, sys, threading
def one(i, res):
    data = random.Random(i).randbytes(64 << 10)
    s = socket.create_connection(("10.7.2.2", 5502), timeout=20)
    t = threading.Thread(target=s.sendall, args=(data,))
    t.start()
    got = b""
    while len(got) < len(data):
        b = s.recv(1 << 16)
        if not b:
            break
        got += b
    t.join()
    s.close()
    res[i] = hashlib.sha256(got).digest() == hashlib.sha256(data).digest()
res = {}
for i in range(50):
    one(i, res)
ts = [threading.Thread(target=one, args=(100 + i, res)) for i in range(10)]
for t in ts: t.start()
for t in ts: t.join()
bad = [i for i, v in res.items() if not v]
print("echoed", len(res) - len(bad), "of", 60, "bad", bad, flush=True)
sys.exit(0 if len(res) == 60 and not bad else 1)
EOF
	timeout 70 "$ZCRUN" $A -- python3 "$D/echo.py" > "$D/cli" 2>&1 || { cat "$D/cli" "$D/socat"; fail "socat-fork: $(tail -1 "$D/cli")"; }
	stop_pid $srv "socat" || { cat "$D/socat"; fail "socat-fork: socat"; }
	srv=""
	ok "socat-fork: $(cat "$D/cli")"
else
	echo "skip: socat-fork: no socat"
fi

# --- nginx: master and 2 workers, reload under load ------------------------
# workers PID: the pids of the children of nginx's master PID
workers() { pgrep -P "$1" 2>/dev/null | sort | xargs; }
# listening_in PIDS: every one of PIDS holds the listener on 8090 of the stack
listening_in() {
	for _w in $1; do
		"$ZCSTAT" "$_w" 2>/dev/null | grep -q "^fd [0-9]* tcp LISTEN 10.7.2.1:8090 " || return 1
	done
}
if command -v nginx > /dev/null && command -v wrk > /dev/null; then
	wire n
	mkdir -p "$D/ngx/html" "$D/ngx/logs"
	chmod a+rx "$D" # the workers run as nginx's default user, nobody
	head -c 262144 /dev/urandom > "$D/ngx/html/big.bin"
	echo "hello from nginx's workers" > "$D/ngx/html/index.html"
	cat > "$D/ngx/nginx.conf" <<EOF
worker_processes 2;
error_log $D/ngx/logs/error.log;
pid $D/ngx/nginx.pid;
events { worker_connections 768; }
http {
  access_log off;
  server { listen 8090; root $D/ngx/html; }
}
EOF
	# nginx daemonises: zcrun returns once the master has forked
	timeout 20 "$ZCRUN" $A -- nginx -c "$D/ngx/nginx.conf" -p "$D/ngx" > "$D/ngx.err" 2>&1 ||
		fail "nginx did not start: $(cat "$D/ngx.err" "$D/ngx/logs/error.log")"
	wait_for_file "$D/ngx/nginx.pid" "nginx's pid file" || exit 1
	master=$(cat "$D/ngx/nginx.pid")
	wait_until 20 "nginx's two workers on the listener" \
		sh -c '[ $(pgrep -c -P '"$master"') -eq 2 ]' || exit 1
	old=$(workers "$master")
	wait_until 20 "the listener in both workers ($old)" listening_in "$old" || exit 1
	want=$(sha256sum < "$D/ngx/html/big.bin" | cut -d' ' -f1)
	cat > "$D/fetch.py" <<'EOF'
import hashlib, socket, sys, time
want, n, ok = sys.argv[1], int(sys.argv[2]), 0
for i in range(n):
    s = socket.create_connection(("10.7.2.1", 8090), timeout=20)
    s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    r = b""
    while True:
        b = s.recv(1 << 16)
        if not b:
            break
        r += b
    s.close()
    head, _, body = r.partition(b"\r\n\r\n")
    if head.startswith(b"HTTP/1.1 200") and hashlib.sha256(body).hexdigest() == want:
        ok += 1
    else:
        print("bad fetch", i, head[:40], len(body), flush=True)
    time.sleep(0.05)
print("fetched", ok, "of", n, flush=True)
sys.exit(0 if ok == n else 1)
EOF
	# reload RUN WHAT: RUN (a client under zcrun on port 1, in the background)
	# with `nginx -s reload` 1.5 s after it starts; the client must succeed
	reload() {
		timeout 60 "$ZCRUN" $B -- "$@" > "$D/cli" 2>&1 &
		cli=$!
		sleep 1.5 # inside wrk's 4 s and the fetcher's 40 fetches
		nginx -c "$D/ngx/nginx.conf" -p "$D/ngx" -s reload 2> "$D/reload" || fail "nginx -s reload: $(cat "$D/reload")"
		wait_pid_status $cli "$1 across a reload" || { cat "$D/cli"; fail "nginx: $1 failed"; }
		cli=""
	}
	reload wrk -t1 -c8 -d4s http://10.7.2.1:8090/index.html
	cp "$D/cli" "$D/wrk"
	mid=$(workers "$master")
	reload python3 "$D/fetch.py" "$want" 40
	cp "$D/cli" "$D/fetch"
	grep -q "^fetched 40 of 40" "$D/fetch" || fail "nginx: $(cat "$D/fetch")"
	! grep -q "Non-2xx" "$D/wrk" || fail "nginx: wrk saw failed requests"
	reqs=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$D/wrk")
	[ "${reqs:-0}" -gt 1000 ] || fail "nginx: wrk made only '$reqs' requests"
	errs=$(sed -n 's/.*Socket errors: connect \([0-9]*\), read \([0-9]*\), write \([0-9]*\), timeout \([0-9]*\).*/\1 \2 \3 \4/p' "$D/wrk")
	set -- ${errs:-0 0 0 0}
	[ "$1" -eq 0 ] && [ "$3" -eq 0 ] && [ "$4" -eq 0 ] && [ "$2" -le 8 ] ||
		fail "nginx: wrk's socket errors: connect $1 read $2 write $3 timeout $4"
	new=$(workers "$master")
	[ "$mid" != "$old" ] && [ "$new" != "$mid" ] || fail "nginx -s reload did not replace the workers ($old, $mid, $new)"
	wait_until 20 "the listener in the new workers ($new)" listening_in "$new" || exit 1
	wait_until 20 "the old workers leaving the stack" \
		sh -c '"$0" "$1" | grep -qx "procs 3"' "$ZCSTAT" "$master" ||
		{ "$ZCSTAT" "$master" | grep "^procs"; exit 1; }
	"$ZCSTAT" "$master" | grep -q "^tcp.passive_opens [1-9]" || fail "nginx: zcstat shows no connection on the stack"
	ok "nginx: master and 2 workers on one stack, $reqs requests by wrk and 40 byte-exact fetches across a reload (wrk read errors $2, workers $old -> $mid -> $new)"

	# a worker killed while it holds the stack lock, under wrk: the other
	# worker recovers the lock and serves on, the dead one's part of the
	# stack is let go, the pools balance, the fetches after are byte-exact
	victim=${new%% *}
	timeout 60 "$ZCRUN" $B -- wrk -t1 -c8 -d4s http://10.7.2.1:8090/index.html > "$D/wrk2" 2>&1 &
	cli=$!
	sleep 1.5
	kill_holding_lock "$victim"
	wait_pid_status $cli "wrk across a killed worker" || { cat "$D/wrk2"; fail "nginx: wrk failed after a worker was killed"; }
	cli=""
	cat "$D/wrk2"
	! grep -q "Non-2xx" "$D/wrk2" || fail "nginx: failed requests after a worker was killed"
	errs=$(sed -n 's/.*Socket errors: connect \([0-9]*\), read \([0-9]*\), write \([0-9]*\), timeout \([0-9]*\).*/\1 \2 \3 \4/p' "$D/wrk2")
	set -- ${errs:-0 0 0 0}
	# the dead worker's connections end (read or write errors, one each at most)
	[ "$1" -eq 0 ] && [ "$4" -eq 0 ] && [ $(($2 + $3)) -le 8 ] ||
		fail "nginx: after the kill, wrk's socket errors: connect $1 read $2 write $3 timeout $4"
	reqs2=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$D/wrk2")
	stat_is() { "$ZCSTAT" "$master" | grep -q "^$1"; }
	wait_until 10 "the dead worker's part let go" stat_is "procs_reaped [1-9]" || { "$ZCSTAT" "$master"; exit 1; }
	stat_is "lock_recoveries [1-9]" || fail "nginx: zcstat shows no lock recovery"
	timeout 60 "$ZCRUN" $B -- python3 "$D/fetch.py" "$want" 10 > "$D/fetch2" 2>&1 || { cat "$D/fetch2"; fail "nginx: fetches after the kill"; }
	balanced "$master" > "$D/pools" || fail "nginx: $(cat "$D/pools")"
	ok "nginx: worker $victim killed holding the stack lock under wrk: $reqs2 requests, read/write errors $2/$3, the lock recovered, its part let go, 10 fetches byte-exact after, the pools balance"
	kill "$master"
	wait_until 20 "nginx's master and workers to end" sh -c "! kill -0 $master 2>/dev/null && [ -z \"\$(pgrep -f 'nginx: worker' -P $master)\" ]" || exit 1
else
	echo "skip: nginx: no nginx or wrk"
fi

# --- exec-cat ------------------------------------------------------------------------
if command -v bash > /dev/null; then
	wire x
	timeout 50 "$ZCRUN" $B -- python3 "$D/srv.py" 5505 send > "$D/srv" 2>&1 &
	srv=$!
	wait_for_zc_listen "$ZCSTAT" "$srv" 5505 "server on port 5505" || { cat "$D/srv"; exit 1; }
	timeout 50 "$ZCRUN" -v $A -- bash -c 'exec 3<>/dev/tcp/10.7.2.2/5505; exec cat <&3' 2> "$D/cat.err" |
		sha256sum | cut -d' ' -f1 > "$D/cat.sum"
	wait_pid_status $srv "exec-cat server" || { cat "$D/srv" "$D/cat.err"; fail "exec-cat: server"; }
	srv=""
	sent=$(sed -n 's/^sent [0-9]* //p' "$D/srv")
	[ -n "$sent" ] && [ "$sent" = "$(cat "$D/cat.sum")" ] || { cat "$D/cat.err"; fail "exec-cat: cat printed other bytes than the 4 MiB sent"; }
	grep -q "exec: process [0-9]* took back its part of the stack" "$D/cat.err" ||
		{ cat "$D/cat.err"; fail "exec-cat: cat did not take the stack back"; }
	ok "exec-cat: bash's connection passed through exec to cat, 4 MiB byte-exact ($sent)"
else
	echo "skip: exec-cat: no bash"
fi

# --- iperf3 -s -D ---------------------------------------------------------
if command -v iperf3 > /dev/null; then
	wire i
	timeout 20 "$ZCRUN" $A -- iperf3 -s -D -p 5504 -I "$D/ipd.pid" > "$D/ipd.err" 2>&1 ||
		fail "iperf3 -s -D: status $?: $(cat "$D/ipd.err")"
	wait_for_file "$D/ipd.pid" "iperf3's pid file" || exit 1
	ipd=$(tr -d '\0' < "$D/ipd.pid")
	wait_for_zc_listen "$ZCSTAT" "$ipd" 5504 "iperf3 -s -D's listener" || exit 1
	timeout 30 "$ZCRUN" $B -- iperf3 -c 10.7.2.1 -p 5504 -t 2 -J > "$D/ipc" 2> "$D/ipc.err" ||
		{ cat "$D/ipc.err"; fail "iperf3 -c to the daemon"; }
	bytes=$(python3 -c 'import json, sys
e = json.load(open(sys.argv[1]))["end"]
s, r = e["sum_sent"]["bytes"], e["sum_received"]["bytes"]
# the daemon counts at the end of the test, with a few segments in flight
print("%d sent, %d received" % (s, r) + ("" if s > 0 and r > 0.99 * s else " (short)"))' "$D/ipc")
	case $bytes in *short*) fail "iperf3 -s -D: $bytes" ;; esac
	"$ZCSTAT" "$ipd" | grep -q "^tcp.passive_opens [2-9]" || fail "iperf3 -s -D: zcstat shows no connection on the stack"
	kill "$ipd"
	# ended: gone, or a zombie that nobody has reaped yet (it was
	# reparented when its parent exited)
	wait_until 10 "iperf3's daemon to end" sh -c "! kill -0 $ipd 2>/dev/null || awk '{ exit \$3 != \"Z\" }' /proc/$ipd/stat" ||
		{ cat /proc/$ipd/status 2>/dev/null | head -3; exit 1; }
	ok "iperf3-daemon: iperf3 -s -D served iperf3 -c over the stack: $bytes by the end of the test"
else
	echo "skip: iperf3-daemon: no iperf3"
fi

# --- prefork-trade ---------------------------------------------------------
# Workers that trade: a server forks 2 workers after listen(); each reads
# every request to EOF into a 2 MiB page-aligned private buffer with
# MSG_WAITALL (ZCS_ZC=always: the pool's 2 MiB frames are mapped into it,
# and the buffer keeps the last one), answers the SHA-256 of what it read;
# an empty request makes a worker leave through exit(). The client sends 8
# MiB requests from a page-aligned buffer, each on a new connection.
cat > "$D/pf.py" <<'EOF'
import hashlib, mmap, os, signal, socket, sys
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("0.0.0.0", int(sys.argv[1])))
l.listen(16)
kids = []
for _ in range(int(sys.argv[2])):
    pid = os.fork()
    if pid == 0:
        buf = mmap.mmap(-1, 2 << 20, flags=mmap.MAP_PRIVATE)
        mv = memoryview(buf)
        while True:
            c, _ = l.accept()
            h, n = hashlib.sha256(), 0
            while True:
                k = c.recv_into(mv, 0, socket.MSG_WAITALL)
                if k == 0:
                    break
                h.update(mv[:k])
                n += k
            c.sendall(h.hexdigest().encode() + b"\n")
            c.close()
            if n == 0:
                sys.exit(0)  # exit(): the preload's destructor runs
    kids.append(pid)
print("workers", *kids, flush=True)
def stop(*_):
    for k in kids:
        try:
            os.kill(k, signal.SIGKILL)
        except OSError:
            pass
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
while True:
    try:
        os.wait()
    except ChildProcessError:
        signal.pause()
EOF
cat > "$D/pfc.py" <<'EOF'
import hashlib, mmap, random, socket, sys
# IP PORT BYTES N: N requests of BYTES seeded bytes; prints how many came
# back with the right digest
ip, port, size, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
buf = mmap.mmap(-1, max(size, 1), flags=mmap.MAP_PRIVATE)
good = 0
for i in range(n):
    data = random.Random(i).randbytes(size)
    buf[:size] = data
    try:
        s = socket.create_connection((ip, port), timeout=30)
        s.sendall(memoryview(buf)[:size])
        s.shutdown(socket.SHUT_WR)
        got = b""
        while True:
            b = s.recv(256)
            if not b:
                break
            got += b
        s.close()
    except OSError as e:
        print("request", i, e, file=sys.stderr)
        continue
    if got.strip().decode() == hashlib.sha256(data).hexdigest():
        good += 1
    else:
        print("request", i, "digest", got[:70], file=sys.stderr)
print("good", good, "of", n, flush=True)
EOF
wire t
ZCS_ZC=always timeout 90 "$ZCRUN" $A -- python3 "$D/pf.py" 5506 2 > "$D/pf" 2>&1 &
srv=$!
wait_for_log "$D/pf" "^workers" "the prefork server's workers" || { cat "$D/pf"; exit 1; }
set -- $(sed -n 's/^workers //p' "$D/pf")
w1=$1 w2=$2
master=$(ps -o ppid= -p "$w1" | tr -d ' ')
wait_for_zc_listen "$ZCSTAT" "$w1" 5506 "worker $w1's listener" || exit 1
pfc() { timeout 60 "$ZCRUN" $B -- python3 "$D/pfc.py" 10.7.2.1 5506 "$@"; }
pfc 8388608 8 > "$D/pfc1" 2>&1 || { cat "$D/pfc1"; fail "prefork-trade: client"; }
grep -qx "good 8 of 8" "$D/pfc1" || { cat "$D/pfc1"; fail "prefork-trade: $(tail -1 "$D/pfc1")"; }
stat_of() { "$ZCSTAT" "$1" | sed -n "s/^$2 //p"; }
# lent frames of the 2 MiB pool (its pool line), as any process sees them
lent() { "$ZCSTAT" "$1" | awk '/^pool1 / { for (i = 2; i < NF; i++) if ($i == "lent") print $(i + 1) }'; }
victim=$w1 other=$w2
[ "$(stat_of "$w1" bytes_traded)" -gt 0 ] || { victim=$w2 other=$w1; }
[ "$(stat_of "$victim" bytes_traded)" -gt 0 ] ||
	fail "prefork-trade: no worker traded a frame ($w1: $(stat_of "$w1" bytes_traded), $w2: $(stat_of "$w2" bytes_traded))"
[ "$(lent "$victim")" -ge 1 ] || fail "prefork-trade: no frame lent after the trades"
# the victim holds a traded frame and the stack lock when it is killed;
# requests go on meanwhile (one may be the victim's: it ends short)
pfc 8388608 6 > "$D/pfc2" 2>&1 &
cli=$!
kill_holding_lock "$victim"
wait_pid_status $cli "requests across the killed worker" || { cat "$D/pfc2"; fail "prefork-trade: client across the kill"; }
cli=""
g2=$(sed -n 's/^good \([0-9]*\) of 6$/\1/p' "$D/pfc2")
[ "${g2:-0}" -ge 5 ] || { cat "$D/pfc2"; fail "prefork-trade: only '$g2' of 6 requests right across the kill"; }
taken() { [ "$(stat_of "$1" lent_taken_back)" -ge "$2" ]; }
wait_until 10 "the killed worker's frame back in the pool" taken "$other" 1 || { "$ZCSTAT" "$other"; exit 1; }
[ "$(stat_of "$other" lock_recoveries)" -ge 1 ] || fail "prefork-trade: zcstat shows no lock recovery"
[ "$(stat_of "$other" procs_reaped)" -ge 1 ] || fail "prefork-trade: the killed worker was not reaped"
pfc 8388608 6 > "$D/pfc3" 2>&1 || { cat "$D/pfc3"; fail "prefork-trade: client after the kill"; }
grep -qx "good 6 of 6" "$D/pfc3" || { cat "$D/pfc3"; fail "prefork-trade: after the kill, $(tail -1 "$D/pfc3")"; }
# only the other worker holds a frame now: the victim's did not stay lent
l1=$(lent "$other")
[ "$l1" -eq 1 ] || { "$ZCSTAT" "$other" | grep ^pool; fail "prefork-trade: $l1 frames lent with one worker left (1 expected)"; }
balanced "$other" > "$D/pools" || fail "prefork-trade: $(cat "$D/pools")"
t1=$(stat_of "$other" lent_taken_back)
# the other worker leaves through exit() with its frame still mapped: the
# frame comes back once the process has gone (the master's helper sees it)
pfc 0 1 > "$D/pfc4" 2>&1 || { cat "$D/pfc4"; fail "prefork-trade: the empty request"; }
back() { [ "$(lent "$master")" -eq 0 ] && taken "$master" $((t1 + 1)); }
wait_until 10 "the leaving worker's frame back in the pool" back || { "$ZCSTAT" "$master"; exit 1; }
balanced "$master" > "$D/pools" || fail "prefork-trade: $(cat "$D/pools")"
nback=$(stat_of "$master" lent_taken_back)
kill $srv 2>/dev/null || true
srv=""
ok "prefork-trade: 2 workers traded 2 MiB frames; worker $victim killed holding the lock and a frame: $g2 of 6 requests right across it, 6 of 6 after, the lock recovered, $nback frames back (the killed worker's, then the leaving one's), the pools balance"

echo "PASS: shim-procs"


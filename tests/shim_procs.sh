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
set -eu
ZCRUN=$1
ZCSTAT=$2
W="pr$$"
D=$(mktemp -d)
srv=""; cli=""
trap 'kill $srv $cli 2>/dev/null || true; rm -rf "$D"; rm -f /dev/shm/zcwire-$W*' EXIT
A="--nic trapeze:$W,port=0 --ip 10.7.2.1/24"
B="--nic trapeze:$W,port=1 --ip 10.7.2.2/24"
fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }
. "$(dirname "$0")/lib.sh"

# the server: accepts one connection, reads to EOF, prints bytes and hash
cat > "$D/srv.py" <<'EOF'
import hashlib, socket, sys
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("0.0.0.0", int(sys.argv[1])))
l.listen(4)
c, _ = l.accept()
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

echo "PASS: shim-procs"


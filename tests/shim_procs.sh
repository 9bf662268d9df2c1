#!/bin/sh
# shim_procs.sh ZCRUN ZCSTAT - processes of one stack (issue 15): programs
# under zcrun on the two ports of a Trapeze wire, each check byte-exact
# (SHA-256 of what was sent equals that of what was received).
#   child-exit: a client forks after connect; the child closes its copy of
#     the socket and exits through exit() (destructors run); the parent then
#     sends 4 MiB and closes. The server receives all of it and one FIN, after
#     the parent's close: a child's close and exit leave the parent's
#     connection alone.
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
timeout 50 "$ZCRUN" $B -- python3 "$D/srv.py" 5500 > "$D/srv" 2>&1 &
srv=$!
wait_for_zc_listen "$ZCSTAT" "$srv" 5500 "server on port 5500" || { cat "$D/srv"; exit 1; }
timeout 50 "$ZCRUN" $A -- python3 "$D/cli.py" 5500 > "$D/cli" 2>&1 &
cli=$!
wait_pid_status $cli "child-exit client" || { cat "$D/cli"; fail "child-exit: client"; }
cli=""
wait_pid_status $srv "child-exit server" || { cat "$D/srv"; fail "child-exit: server"; }
srv=""
sent=$(sed -n 's/^sent //p' "$D/cli")
got=$(sed -n 's/^got //p' "$D/srv")
[ -n "$sent" ] && [ "$sent" = "$got" ] || { cat "$D/cli" "$D/srv"; fail "child-exit: sent '$sent', received '$got'"; }
ok "child-exit: the parent's 4 MiB arrived whole after its child closed and exited ($got)"

echo "PASS: shim-procs"

#!/bin/sh
# rewrite_send.sh ZCRUN ZCSTAT [NICS] - a sender that rewrites its buffer
# right after each send() never changes what the peer receives, for every
# policy (never, auto, always) and both NIC kinds (a Trapeze wire; DPDK's
# net_memif between the two processes, when "memif" is in NICS; memif9k:
# the same with a 9000-byte MTU).
# Two unmodified Python programs under zcrun: the sender sends 24 chunks of
# 2 MiB from one page-aligned private anonymous buffer (what copy-on-write
# sends take by reference) and fills it with the next chunk as soon as each
# send returns; the receiver reads into a 2 MiB-aligned buffer (what page
# trading takes) and hashes. The SHA-256 of what was sent, chunk by chunk
# as it was when sent, equals the receiver's. zcstat of the sender shows the
# bytes went by reference under always, and the receiver's what it did.
set -eu
ZCRUN=$(realpath "$1")
ZCSTAT=$(realpath "$2")
NICS=${3:-trapeze}
. "$(dirname "$0")/lib.sh"
command -v python3 > /dev/null || { echo "skip: no python3"; exit 77; }
D=$(mktemp -d)
PIDS=""
trap 'for p in $PIDS; do kill $p 2>/dev/null || true; done; rm -rf "$D"; rm -f /dev/shm/zcwire-rw$$* /tmp/zcstack-rw$$.sock' EXIT
fail() { echo "FAIL: $*"; for f in "$D"/*.err; do [ -s "$f" ] && { echo "--- $f"; cat "$f"; }; done; exit 1; }
ok() { echo "ok: $*"; }

cat > "$D/recv.py" <<'EOF'
import ctypes, hashlib, mmap, socket, sys
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("0.0.0.0", int(sys.argv[1]))); l.listen(1)
c, _ = l.accept()
buf = mmap.mmap(-1, 4 << 21, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
mv = memoryview(buf)
# the mapping is page-aligned: read at the 2 MiB boundary inside it
addr = ctypes.addressof(ctypes.c_char.from_buffer(buf))
base = (-addr) % (2 << 20)
win = mv[base:base + (2 << 20)]
h = hashlib.sha256(); n = 0; want = int(sys.argv[2])
while n < want: # the sender closes only after zcstat has seen it
    k = c.recv_into(win, min(2 << 20, want - n), socket.MSG_WAITALL)
    if k == 0:
        break
    h.update(win[:k]); n += k
print("got", n, h.hexdigest(), flush=True)
sys.stdin.readline()
EOF
cat > "$D/send.py" <<'EOF'
import hashlib, mmap, os, socket, sys, time
CH, N = 2 << 20, 24
blobs = [os.urandom(CH) for _ in range(3)]
buf = mmap.mmap(-1, CH, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
s = socket.socket()
for i in range(200):
    try:
        s.connect((sys.argv[1], int(sys.argv[2]))); break
    except OSError:
        s.close(); s = socket.socket(); time.sleep(0.05)
h = hashlib.sha256()
def fill(k):
    buf[:] = blobs[k % 3]
    buf[0:8] = k.to_bytes(8, "little")
fill(0)
for k in range(N):
    h.update(buf)
    s.sendall(memoryview(buf))
    fill(k + 1) # at once: the bytes just sent may not be acknowledged yet
print("sent", CH * N, h.hexdigest(), flush=True)
sys.stdin.readline()
s.close()
EOF

# zstat PID FILE: zcstat of a program under zcrun (timeout's child)
zstat() {
	for _p in $(pgrep -P "$1" 2>/dev/null) $1; do
		"$ZCSTAT" "$_p" > "$2" 2>/dev/null && return 0
	done
	return 1
}

# run NIC POLICY: one transfer; checks the hashes and the counters
run() {
	nic=$1 pol=$2
	case $nic in
	trapeze)
		A="--nic trapeze:rw$$,port=0 --ip 10.5.0.1/24"
		B="--nic trapeze:rw$$,port=1 --ip 10.5.0.2/24" ;;
	memif)
		A="--nic dpdk:net_memif0,role=server,socket=/tmp/zcstack-rw$$.sock --ip 10.5.0.1/24"
		B="--nic dpdk:net_memif0,role=client,socket=/tmp/zcstack-rw$$.sock --ip 10.5.0.2/24" ;;
	memif9k) # jumbo frames: each received as a chain of DPDK buffers
		A="--nic dpdk:net_memif0,role=server,socket=/tmp/zcstack-rw$$.sock,zc_mtu=9000 --ip 10.5.0.1/24"
		B="--nic dpdk:net_memif0,role=client,socket=/tmp/zcstack-rw$$.sock,zc_mtu=9000 --ip 10.5.0.2/24" ;;
	esac
	rm -f /dev/shm/zcwire-rw$$* /tmp/zcstack-rw$$.sock "$D"/r.out "$D"/s.out
	mkfifo "$D/rin.$nic.$pol" "$D/sin.$nic.$pol"
	# shellcheck disable=SC2086
	timeout 120 "$ZCRUN" $A --zc "$pol" -- python3 "$D/recv.py" 7400 50331648 < "$D/rin.$nic.$pol" > "$D/r.out" 2> "$D/r.err" &
	R=$!
	exec 7> "$D/rin.$nic.$pol"
	PIDS="$R"
	wait_for_zc_listen "$ZCSTAT" $R 7400 "the receiver ($nic, $pol)" || fail "$nic $pol: the receiver did not listen"
	# shellcheck disable=SC2086
	timeout 120 "$ZCRUN" $B --zc "$pol" -- python3 "$D/send.py" 10.5.0.1 7400 < "$D/sin.$nic.$pol" > "$D/s.out" 2> "$D/s.err" &
	S=$!
	exec 8> "$D/sin.$nic.$pol"
	PIDS="$R $S"
	wait_for_log "$D/s.out" "^sent" "the sender ($nic, $pol)" 90 || fail "$nic $pol: the sender did not finish"
	wait_for_log "$D/r.out" "^got" "the receiver ($nic, $pol)" 90 || fail "$nic $pol: the receiver did not finish"
	zstat $S "$D/s.stat" || fail "$nic $pol: zcstat of the sender"
	zstat $R "$D/r.stat" || fail "$nic $pol: zcstat of the receiver"
	echo x >&8
	echo x >&7
	exec 7>&- 8>&-
	wait $S || fail "$nic $pol: the sender exited $?"
	wait $R || fail "$nic $pol: the receiver exited $?"
	PIDS=""
	sent=$(cut -d' ' -f2,3 "$D/s.out")
	got=$(cut -d' ' -f2,3 "$D/r.out")
	[ "$sent" = "$got" ] || fail "$nic $pol: sent '$sent', received '$got'"
	v() { sed -n "s/^$1 //p" "$2"; }
	cow=$(v bytes_cow "$D/s.stat")
	defer=$(v deferred_copies "$D/s.stat")
	traded=$(v bytes_traded "$D/r.stat")
	ref=$(v ref_bytes "$D/r.stat")
	dma=$(v dma_bytes "$D/r.stat")
	case $pol in
	never) [ "$cow" = 0 ] || fail "$nic never: $cow bytes sent by reference" ;;
	always) [ "${cow:-0}" -gt 0 ] || fail "$nic always: nothing sent by reference (bytes_cow '$cow')" ;;
	esac
	ok "$nic $pol: 48 MiB byte-exact though each chunk was rewritten as send() returned (sent by reference $cow, deferred copies $defer; received: traded $traded, by reference ${ref:-0}, NIC-copied ${dma:-0})"
}

for nic in $NICS; do
	for pol in never auto always; do
		run $nic $pol
	done
done

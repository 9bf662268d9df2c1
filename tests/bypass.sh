#!/bin/sh
# bypass.sh ZCRUN ZCSTAT - nothing passes the stack by silently. For each
# reason of sockapi/bypass.h a small python3 program under zcrun triggers
# it several times (twice or more kinds where kinds are told apart): its
# log line must appear once per kind however often the trigger repeats,
# zcstat's bypass_<reason> must equal the number of triggers, and what was
# handed to the kernel must still work (data sent == data received). Then
# zcrun itself: a statically linked program is refused (126) unless
# --allow-static, a Go program (a fake: a C program with Go's build-id
# note) runs with a warning, a dynamic program and a script run quietly.
set -u
ZCRUN=$1
ZCSTAT=$2
LIB=$(dirname "$ZCRUN")/libzcpreload.so
D=$(mktemp -d)
trap 'rm -rf "$D"; rm -f /dev/shm/zcwire-bp$$-*' EXIT
fails=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

# the programs end by printing their own zcstat (with the preload out of
# zcstat's environment) and "done"
cat > "$D/pre.py" <<EOF
import socket, os, sys, errno, fcntl, termios, subprocess, hashlib
def stat():
    sys.stdout.flush()
    env = dict(os.environ); env.pop("LD_PRELOAD", None)
    subprocess.run(["$ZCSTAT", str(os.getpid())], env=env, check=True)
    print("done")
# the stack starts at the first IPv4 socket; zcstat needs it
anchor = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
EOF
n=0
run() { # run CASE PYTHON: under zcrun (with $RUN_ENV); stdout in $D/CASE.out, stderr in $D/CASE.err
	n=$((n + 1))
	{ cat "$D/pre.py"; printf '%s\n' "$2"; echo "stat()"; } > "$D/$1.py"
	env ${RUN_ENV:-} timeout 60 "$ZCRUN" --nic "trapeze:bp$$-$n,port=0" --ip 10.0.0.1/24 -- python3 "$D/$1.py" \
		> "$D/$1.out" 2> "$D/$1.err" || bad "$1: status $?: $(tail -5 "$D/$1.err")"
	grep -q '^done$' "$D/$1.out" || bad "$1: the program did not finish: $(tail -5 "$D/$1.err")"
}
expect() { # expect CASE REASON COUNT LINES: zcstat's counter and the log lines
	c=$(sed -n "s/^bypass_$2 //p" "$D/$1.out")
	l=$(grep -c "^zcstack: [a-z]*: bypass $2: " "$D/$1.err")
	if [ "$c" != "$3" ] || [ "$l" != "$4" ]; then
		bad "$1: bypass_$2 $c (want $3), $l log lines (want $4): $(cat "$D/$1.err")"
	else
		echo "ok: $1: bypass_$2 $c, told $l: $(grep -m1 "bypass $2: " "$D/$1.err" | cut -c1-150)"
	fi
}
has() { grep -q "$3" "$D/$1.$2" || bad "$1: no '$3' in its std$2"; }

# nothing passes by: no line, every counter 0
run clean '
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
t.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("10.0.0.1", 7001)); t.listen(4)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", 7002))
u.connect(("10.0.0.2", 7003))
fcntl.ioctl(u.fileno(), termios.FIONREAD, b"\0" * 4)
'
grep -q bypass "$D/clean.err" && bad "clean: a bypass line: $(cat "$D/clean.err")"
for r in family_local family type bind connect ipv6 v6only loopback_listen loopback_accept option ioctl nostack exec fork call; do expect clean $r 0 0; done
has clean out "^fd [0-9]* tcp LISTEN 10.0.0.1:7001 "
has clean out "^fd [0-9]* udp port 7002 "

# another family: two kinds (AF_PACKET, AF_BLUETOOTH=31), each told once
run family '
for i in range(3):
    p = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    print("packet", p.family == socket.AF_PACKET); p.close()
for i in range(2):
    try: socket.socket(31, socket.SOCK_STREAM, 0).close()
    except OSError: pass
'
expect family family 5 2
has family out "packet True"

# local IPC: counted, never told; the kernel carries it
run family_local '
for i in range(2): socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0).close()
a = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); a.bind("\0bp-a-%d" % os.getpid())
b = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
c = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
msg = os.urandom(3000)
b.sendto(msg, "\0bp-a-%d" % os.getpid())
print("unix", hashlib.sha256(a.recv(4096)).hexdigest() == hashlib.sha256(msg).hexdigest())
'
expect family_local family_local 5 0
grep -q "bypass" "$D/family_local.err" && bad "family_local: told: $(cat "$D/family_local.err")"
has family_local out "unix True"

# an IP family, a type the stack lacks: SOCK_RAW (3) and SOCK_SEQPACKET (1), two kinds
run type '
for i in range(3):
    r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    print("raw", r.type == socket.SOCK_RAW); r.close()
try: socket.socket(socket.AF_INET, socket.SOCK_SEQPACKET, 0)
except OSError as e: print("seqpacket", e.errno)
'
expect type type 4 2
has type out "raw True"

# bind off the stack (127.0.0.1) three times, connect to where the stack
# does not reach three times; the kernel carries the data, byte-exact.
# Binds to the stack address and to 0.0.0.0 are the stack's, uncounted.
run addr '
rx = []
for i in range(3):
    r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); r.bind(("127.0.0.1", 0)); rx.append(r)
ok = 0
for r in rx:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.connect(r.getsockname())
    msg = os.urandom(1200); s.send(msg)
    ok += hashlib.sha256(r.recv(2048)).digest() == hashlib.sha256(msg).digest()
print("delivered", ok)
a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); a.bind(("10.0.0.1", 7010))
b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); b.bind(("0.0.0.0", 7011))
'
expect addr bind 3 1
expect addr connect 3 1
has addr out "delivered 3"
has addr out "^fd [0-9]* udp port 7010 "
has addr err "bind(fd [0-9]*, 127.0.0.1:0): not the stack.s address (10.0.0.1)"

# AF_INET6: a dual-stack socket on [::] is the stack's (uncounted); native
# IPv6 addresses are the kernel's (bind [::1] twice, connect [::1] once:
# one line, 3 counted) and so is a v6-only socket on [::] (twice: one line);
# a datagram to a native IPv6 address from a stack socket is refused
# (ENETUNREACH, counted under ipv6 too). The kernel carries its data.
run ipv6 '
d = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
d.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
d.bind(("::", 7020)); d.listen(4)
l = socket.socket(socket.AF_INET6, socket.SOCK_STREAM); l.bind(("::1", 0)); l.listen(1)
r = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); r.bind(("::1", 0))
c = socket.socket(socket.AF_INET6, socket.SOCK_STREAM); c.connect(l.getsockname())
a, _ = l.accept(); msg = os.urandom(5000); c.sendall(msg); c.close()
got = b""
while len(got) < len(msg):
    k = a.recv(65536)
    if not k: break
    got += k
print("v6 kernel", hashlib.sha256(got).digest() == hashlib.sha256(msg).digest())
for i in range(2):
    o = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    o.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1); o.bind(("::", 0)); o.close()
u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); u.bind(("::", 7021))
try: u.sendto(b"x", ("2001:db8::1", 9)); print("sendto sent")
except OSError as e: print("sendto", errno.errorcode[e.errno])
'
expect ipv6 ipv6 4 2
expect ipv6 v6only 2 1
has ipv6 out "v6 kernel True"
has ipv6 out "sendto ENETUNREACH"
has ipv6 out "^fd [0-9]* tcp LISTEN .*:7020 "
has ipv6 out "^fd [0-9]* udp port 7021 "
has ipv6 err "bind(fd [0-9]*, \[::1\]:0): an IPv6 address"

# wildcard listeners: three connections over the kernel's loopback to one
# (one line, 3 counted; their data is the kernel's, byte-exact); then a port
# that a kernel socket holds on 127.0.0.1: the wildcard listener is the
# stack's alone, told once for two such listeners. SO_REUSEADDR as servers
# set it: the server closes first, and its TIME_WAITs on the kernel's side
# would refuse the next run's bind for a minute
run loopback '
l = socket.socket(socket.AF_INET, socket.SOCK_STREAM); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("0.0.0.0", 7030)); l.listen(8)
ok = 0
for i in range(3):
    c = socket.socket(socket.AF_INET, socket.SOCK_STREAM); c.connect(("127.0.0.1", 7030))
    a, _ = l.accept(); msg = os.urandom(3000); c.sendall(msg)
    got = b""
    while len(got) < len(msg): got += a.recv(65536)
    ok += hashlib.sha256(got).digest() == hashlib.sha256(msg).digest(); a.close(); c.close()
print("local", ok)
holders = []
for p in (7031, 7032):
    k = socket.socket(socket.AF_INET, socket.SOCK_STREAM); k.bind(("127.0.0.1", p)); k.listen(1)
    w = socket.socket(socket.AF_INET, socket.SOCK_STREAM); w.bind(("0.0.0.0", p)); w.listen(1)
    holders += [k, w]
'
expect loopback loopback_accept 3 1
expect loopback loopback_listen 2 1
has loopback out "local 3"
has loopback out "^fd [0-9]* tcp LISTEN kernel-side 0.0.0.0:7030 accepted 3"
has loopback out "^fd [0-9]* tcp LISTEN .*:7031 "
has loopback err "listen(fd [0-9]*, 0.0.0.0:7031): the kernel.s side of this wildcard listener failed"

# exec with inheritable stack sockets: two execs of a program that is not
# there, so that the preload cannot follow (told once, counted twice, the
# sockets inheritable and working again after), then a forked child that
# execs a shell: the shell runs the preload, takes the stack back and has
# the socket at its number (not counted: nothing passed by)
run exec '
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM); t.bind(("10.0.0.1", 7040)); t.listen(1)
os.set_inheritable(t.fileno(), True)
for i in range(2):
    try: os.execv("/nonexistent/prog", ["prog"])
    except OSError as e: print("exec failed", errno.errorcode[e.errno])
print("inheritable", os.get_inheritable(t.fileno()))
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("10.0.0.1", 7041))
os.set_inheritable(u.fileno(), True)
pid = os.fork()
if pid == 0:
    os.execv("/bin/sh", ["sh", "-c", "if [ -e /proc/self/fd/%d ]; then echo kept; else echo gone; fi" % u.fileno()])
os.waitpid(pid, 0)
'
expect exec exec 2 1
has exec out "exec failed ENOENT"
has exec out "inheritable True"
has exec out "^kept$"
has exec out "^fd [0-9]* tcp LISTEN 10.0.0.1:7040 "
has exec err "execv(/nonexistent/prog): stack sockets pass only to a dynamic program with zcrun.s preload"
has exec out "^execs 1$"

# options the stack does not have: three kinds, each told once; the calls
# fail (ENOPROTOOPT); options it has are not counted
run option '
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
def tries(f):
    try: f(); return "ok"
    except OSError as e: return errno.errorcode[e.errno]
for i in range(3): print("tos", tries(lambda: t.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, 16)))
for i in range(2): print("broadcast", tries(lambda: u.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)))
print("ttl", tries(lambda: t.getsockopt(socket.IPPROTO_IP, socket.IP_TTL)))
for i in range(2): t.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
'
expect option option 6 3
has option out "tos ENOPROTOOPT"
has option err "setsockopt(IPPROTO_IP, IP_TOS)"
has option err "setsockopt(SOL_SOCKET, SO_BROADCAST)"
has option err "getsockopt(IPPROTO_IP, IP_TTL)"

# the log level hides the line, not the count
RUN_ENV=ZCS_LOG=error run option_quiet '
for i in range(2):
    try: anchor.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, 16)
    except OSError: pass
'
expect option_quiet option 2 0

# an ioctl the stack does not have, on a stack socket, three times: one
# kind; FIONREAD (the stack's) and ioctls on kernel fds are not counted
run ioctl '
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
for i in range(3): fcntl.ioctl(t.fileno(), termios.TIOCOUTQ, b"\0" * 4)
for i in range(2): fcntl.ioctl(t.fileno(), termios.FIONREAD, b"\0" * 4)
r, w = os.pipe(); fcntl.ioctl(r, termios.FIONREAD, b"\0" * 4)
'
expect ioctl ioctl 3 1
has ioctl err "ioctl(fd [0-9]*, 0x5411) on a stack socket"

# no stack: the preload without zcrun's settings; three IPv4 sockets, told once
env -u ZCS_NIC -u ZCS_IP LD_PRELOAD="$LIB" python3 -c '
import socket
for i in range(3): socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()
print("done")' > "$D/nostack.out" 2> "$D/nostack.err" || bad "nostack: status $?"
l=$(grep -c "bypass nostack: .*ZCS_NIC and ZCS_IP are not set" "$D/nostack.err")
[ "$l" = 1 ] && echo "ok: nostack: told once" || bad "nostack: told $l times: $(cat "$D/nostack.err")"

# fork beyond ZCS_MAX_PROCS: a child that uses its parent's stack socket
# three times gets EBADF each time, told once; counted where the parent's
# zcstat shows them (the stack's counters are shared)
RUN_ENV=ZCS_MAX_PROCS=1 run fork '
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.0.0.1", 7020))
pid = os.fork()
if pid == 0:
    n = 0
    for i in range(3):
        try: s.sendto(b"x", ("10.0.0.2", 7000))
        except OSError as e: n += e.errno == errno.EBADF
    os._exit(0 if n == 3 else 1)
_, st = os.waitpid(pid, 0)
print("child", os.waitstatus_to_exitcode(st))
'
expect fork fork 3 1
has fork out "child 0"
has fork err "a child cannot use it"

# --- zcrun and the program's kind ---------------------------------------------------
Z="$ZCRUN --nic trapeze:bp$$-z,port=0 --ip 10.0.0.1/24"
printf '#include <stdio.h>\nint main(void) { puts("ran"); return 0; }\n' > "$D/tiny.c"
cc -o "$D/dynamic" "$D/tiny.c" || bad "cc"
if cc -static -o "$D/static" "$D/tiny.c" 2> "$D/cc.err"; then
	out=$($Z -- "$D/static" 2> "$D/static.err")
	st=$?
	if [ $st -ne 126 ] || [ -n "$out" ] || ! grep -q "is statically linked: the preload cannot enter it" "$D/static.err"; then
		bad "static: status $st, stdout '$out', stderr $(cat "$D/static.err")"
	else
		echo "ok: static: refused, 126: $(cut -c1-120 "$D/static.err")"
	fi
	# found in PATH: the message names the file
	out=$(PATH="$D:$PATH" $Z -- static 2> "$D/static.err")
	st=$?
	[ $st -eq 126 ] && [ -z "$out" ] && grep -q "static ($D/static) is statically linked" "$D/static.err" ||
		bad "static in PATH: status $st, $(cat "$D/static.err")"
	out=$($Z --allow-static -- "$D/static" 2> "$D/static.err")
	st=$?
	[ $st -eq 0 ] && [ "$out" = ran ] && [ ! -s "$D/static.err" ] ||
		bad "--allow-static: status $st, stdout '$out', stderr $(cat "$D/static.err")"
	echo "ok: --allow-static runs it"
else
	bad "no static C library to build a static program (libc6-dev): $(cat "$D/cc.err")"
fi
# a Go program: a section .note.go.buildid is what zcrun looks for
printf 'Go\0' > "$D/note"
objcopy --add-section .note.go.buildid="$D/note" "$D/dynamic" "$D/gofake" || bad "objcopy"
out=$($Z -- "$D/gofake" 2> "$D/go.err")
st=$?
l=$(grep -c "is a Go program: Go makes its system calls itself" "$D/go.err")
[ $st -eq 0 ] && [ "$out" = ran ] && [ "$l" = 1 ] && echo "ok: Go: runs, warned once: $(cut -c1-100 "$D/go.err")" ||
	bad "Go: status $st, stdout '$out', stderr $(cat "$D/go.err")"
# a dynamic program and a script run, with nothing said
printf '#!/bin/sh\necho ran\n' > "$D/script"
chmod +x "$D/script"
for p in "$D/dynamic" "$D/script"; do
	out=$($Z -- "$p" 2> "$D/p.err")
	st=$?
	[ $st -eq 0 ] && [ "$out" = ran ] && [ ! -s "$D/p.err" ] || bad "$p: status $st, '$out', $(cat "$D/p.err")"
done
echo "ok: a dynamic program and a script run quietly"
# a program that is not there: exec's own error, as before
$Z -- "$D/nothere" 2> "$D/p.err"
st=$?
[ $st -eq 127 ] && grep -q "cannot run" "$D/p.err" || bad "missing program: status $st, $(cat "$D/p.err")"

[ $fails -eq 0 ] && echo "PASS" || { echo "$fails failed"; exit 1; }

#!/bin/sh
# zcrun_errors.sh ZCRUN ZCSTAT - zcrun refuses bad values with one clear
# message before the program starts (status 2, the program never runs);
# zcstat explains itself; a stack that cannot start makes socket() fail,
# never silently the kernel's.
set -u
ZCRUN=$1
ZCSTAT=$2
fails=0
mark=$(mktemp -u)
check() { # check "what" "expected text" ARGS... (the program would touch $mark)
	what=$1
	want=$2
	shift 2
	err=$("$ZCRUN" "$@" -- touch "$mark" 2>&1 >/dev/null)
	st=$?
	if [ $st -ne 2 ] || [ -e "$mark" ] || ! printf '%s' "$err" | grep -q "$want"; then
		echo "FAIL: $what: status $st, stderr: $err"
		fails=$((fails + 1))
	else
		echo "ok: $what -> $(printf '%s' "$err" | head -1)"
	fi
	rm -f "$mark"
}
check "no NIC" "no NIC" --ip 10.0.0.1/24
check "bad NIC kind" "expected trapeze" --nic eth0 --ip 10.0.0.1/24
check "no address" "no address" --nic trapeze:w
check "bad address" "expected a unicast" --nic trapeze:w --ip 10.0.0.300/24
check "loopback address" "expected a unicast" --nic trapeze:w --ip 127.0.0.2/8
check "bad gateway" "expected an address" --nic trapeze:w --ip 10.0.0.1/24 --gw nowhere
check "bad policy" "expected auto, always or never" --nic trapeze:w --ip 10.0.0.1/24 --zc sometimes
check "pcap directory" "not writable" --nic trapeze:w --ip 10.0.0.1/24 --pcap /nonexistent/dir/x.pcap
ZCS_ZC=maybe check "ZCS_ZC from the environment" "expected auto, always or never" --nic trapeze:w --ip 10.0.0.1/24
help=$("$ZCRUN" --help 2>&1)
st=$?
[ $st -eq 0 ] || { echo "FAIL: --help: status $st"; fails=$((fails + 1)); }
printf '%s' "$help" | grep -q "Example" || { echo "FAIL: --help has no example"; fails=$((fails + 1)); }
# a NIC that cannot open: socket() fails with ENETDOWN, nothing reaches the kernel
out=$("$ZCRUN" --nic trapeze:bad/name --ip 10.0.0.1/24 -- python3 -c '
import socket, errno
try:
    socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    print("opened")
except OSError as e:
    print("errno", e.errno == errno.ENETDOWN)
' 2>&1)
st=$?
[ $st -eq 0 ] || { echo "FAIL: a stack that did not start: status $st: $out"; fails=$((fails + 1)); }
printf '%s' "$out" | grep -q "errno True" || { echo "FAIL: a stack that did not start: $out"; fails=$((fails + 1)); }
printf '%s' "$out" | grep -q "wire name" || { echo "FAIL: no message naming the problem: $out"; fails=$((fails + 1)); }
echo "ok: a stack that cannot start -> ENETDOWN and: $(printf '%s' "$out" | head -1)"
# fork: a child uses its parent's stack socket (the stack is shared, issue
# 15) and leaves by _exit (no destructors); the parent's socket still works
out=$("$ZCRUN" --nic trapeze:fk$$,port=0 --ip 10.0.0.1/24 -- python3 -c '
import socket, os, errno, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.0.0.1", 7000))
pid = os.fork()
if pid == 0:
    try:
        os._exit(0 if s.sendto(b"x", ("10.0.0.2", 7000)) == 1 else 1)
    except OSError as e:
        print("child:", e, flush=True)
        os._exit(2)
_, st = os.waitpid(pid, 0)
print("child", os.waitstatus_to_exitcode(st))
s.sendto(b"y", ("10.0.0.2", 7000))
print("parent ok")
' 2>&1)
st=$?
[ $st -eq 0 ] || { echo "FAIL: fork: status $st: $out"; fails=$((fails + 1)); }
printf '%s' "$out" | grep -q "child 0" && printf '%s' "$out" | grep -q "parent ok" ||
	{ echo "FAIL: fork: $out"; fails=$((fails + 1)); }
echo "ok: fork -> the child and the parent both sent on the socket"
out=$("$ZCSTAT" 999999 2>&1)
st=$?
[ $st -eq 1 ] && printf '%s' "$out" | grep -q "has no zcstack" ||
	{ echo "FAIL: zcstat of a stranger: status $st: $out"; fails=$((fails + 1)); }
[ $fails -eq 0 ] && echo "PASS" || { echo "$fails failed"; exit 1; }

#!/bin/sh
# cli_errors.sh BENCH - bad configuration gives one clear message and a
# non-zero status, never a crash (a status >= 128 is a signal).
set -u
bench=$1
fails=0
check() { # check "what" "expected text" ARGS...
	what=$1
	want=$2
	shift 2
	err=$("$bench" "$@" 2>&1 >/dev/null)
	st=$?
	if [ $st -eq 0 ] || [ $st -ge 128 ] || ! printf '%s' "$err" | grep -q "$want"; then
		echo "FAIL: $what: status $st, stderr: $err"
		fails=$((fails + 1))
	else
		echo "ok: $what -> status $st: $(printf '%s' "$err" | head -1)"
	fi
}
check "MTU not whole pages" "whole number of 4096-byte pages" --mtu 5000 --bytes 1048576 --rounds 1
check "MTU above 64 KiB" "at most 65536" --mtu 131072 --bytes 1048576 --rounds 1
check "odd frame count" "even number" --frames 1001 --bytes 1048576 --rounds 1
check "unknown option" "usage" --speed 9
check "bad rounds" "rounds must be" --rounds 0
ls /dev/shm/zcwire-bench* >/dev/null 2>&1 && { echo "FAIL: a wire file was left behind"; fails=$((fails + 1)); }
# a small but valid run works end to end
"$bench" --mtu 8192 --frames 512 --bytes 1048576 --rounds 1 >/dev/null || { echo "FAIL: small valid run"; fails=$((fails + 1)); }
echo "$fails failed"
[ $fails -eq 0 ]

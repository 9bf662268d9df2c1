#!/bin/sh
# install.sh BUILDDIR DEMODIR - zcstack as a user gets it: meson install
# into a staging directory (--destdir), then, with nothing but what was
# installed (pkg-config with PKG_CONFIG_SYSROOT_DIR at the staging root):
#   - every public header compiles alone, and the umbrella zcstack.h;
#   - DEMODIR/zcx_demo.c linked with libzcstack: a server and a client
#     process over a Trapeze wire, the server reading by reference
#     (zcx_recv_zc), SHA-256 of sent and received equal, counters read;
#   - the same program built plain (headers only, no library) under the
#     installed zcrun on both ends, which must find the installed
#     libzcpreload.so by itself: its zcx_* calls reach the shim (real
#     counters, no ENOSYS);
#   - the plain program without zcstack: zcx_available() is false, the
#     zcx_* calls fail with ENOSYS;
#   - zcrun --help runs from the install; the manual pages render without
#     a warning (when groff is installed).
set -u
BUILD=$1
DEMO=$2
MESON=${MESON:-meson}
CC=${CC:-cc}
D=$(mktemp -d)
W="in$$"
pids=""
trap 'for p in $pids; do kill "$p" 2>/dev/null; done; rm -rf "$D"; rm -f /dev/shm/zcwire-$W*' EXIT
fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }
BYTES=33554432

# --- install ------------------------------------------------------------------------
ROOT="$D/root"
"$MESON" install -C "$BUILD" --destdir "$ROOT" --no-rebuild >"$D/install.log" 2>&1 ||
	{ cat "$D/install.log"; fail "meson install --destdir"; }
pc=$(find "$ROOT" -name zcstack.pc)
[ -n "$pc" ] || fail "no zcstack.pc installed"
LIB=$(dirname "$(dirname "$pc")")
BIN=$(dirname "$(find "$ROOT" -type f -name zcrun)")
for f in "$LIB/libzcstack.so" "$LIB/libzcpreload.so" "$BIN/zcrun" "$BIN/zcstat"; do
	[ -e "$f" ] || fail "not installed: $f"
done
if find "$ROOT" -name '*_priv.h' | grep -q .; then fail "a private header was installed"; fi
ok "meson install --destdir: $(find "$ROOT" -type f | wc -l) files"

export PKG_CONFIG_PATH="$(dirname "$pc")" PKG_CONFIG_SYSROOT_DIR="$ROOT"
# nothing from the build tree (meson test points LD_LIBRARY_PATH into it)
unset PKG_CONFIG_LIBDIR ZCS_PRELOAD ZCS_NIC ZCS_IP ZCS_GW ZCS_ZC ZCS_PCAP LD_PRELOAD LD_LIBRARY_PATH 2>/dev/null || true
cflags=$(pkg-config --cflags zcstack) || fail "pkg-config --cflags zcstack"
libs=$(pkg-config --libs zcstack) || fail "pkg-config --libs zcstack"
echo "pkg-config --cflags --libs zcstack: $(pkg-config --cflags --libs zcstack)"
INC="$(pkg-config --variable=includedir zcstack)/zcstack"
case $INC in "$ROOT"/*) ;; *) INC="$ROOT$INC" ;; esac # pkgconf adds the sysroot, pkg-config does not
[ "$(echo $cflags)" = "-I$INC" ] || fail "Cflags are '$cflags', expected -I$INC"

# --- the headers ---------------------------------------------------------------------
n=0
for h in $(cd "$INC" && find . -name '*.h' | sed 's|^\./||' | sort); do
	printf '#include "%s"\nint main(void) { return 0; }\n' "$h" >"$D/h.c"
	$CC -Wall -Wextra -Werror $cflags -c "$D/h.c" -o "$D/h.o" 2>"$D/h.err" ||
		{ cat "$D/h.err"; fail "the installed $h does not compile alone"; }
	n=$((n + 1))
done
ok "$n installed headers compile alone (-Wall -Wextra -Werror, no _GNU_SOURCE)"

# --- the demo, both builds --------------------------------------------------------------
$CC -Wall -Wextra -Werror -O2 -DZCX_DEMO_LINKED -o "$D/linked" "$DEMO/zcx_demo.c" $cflags $libs 2>"$D/cc.err" ||
	{ cat "$D/cc.err"; fail "cc -DZCX_DEMO_LINKED zcx_demo.c \$(pkg-config --cflags --libs zcstack)"; }
$CC -Wall -Wextra -Werror -O2 -o "$D/plain" "$DEMO/zcx_demo.c" $cflags 2>"$D/cc.err" ||
	{ cat "$D/cc.err"; fail "cc zcx_demo.c \$(pkg-config --cflags zcstack)"; }
readelf -d "$D/plain" | grep -q 'NEEDED.*zcstack' && fail "the plain build needs libzcstack"
readelf -d "$D/linked" | grep -q 'NEEDED.*libzcstack.so.0' || fail "the linked build does not need libzcstack.so.0"
ok "zcx_demo built linked (pkg-config --cflags --libs) and plain (--cflags only)"

# wait_file FILE PID: until FILE exists; fails when PID exits first
wait_file() {
	while [ ! -e "$1" ]; do
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.05
	done
}

# run_pair NAME SERVER... :: CLIENT...: the server in the background, the
# client once the server's ready file is there; both must exit 0, and the
# hashes they print must be equal
run_pair() {
	name=$1
	shift
	srv_cmd=""
	while [ "$1" != "::" ]; do srv_cmd="$srv_cmd $1"; shift; done
	shift
	rm -f "$D/ready"
	# shellcheck disable=SC2086
	timeout 120 $srv_cmd server 10.8.0.1 7000 "$D/ready" >"$D/$name.srv" 2>"$D/$name.srv.err" &
	spid=$!
	pids="$pids $spid"
	wait_file "$D/ready" "$spid" || { cat "$D/$name.srv.err"; fail "$name: the server did not start listening"; }
	timeout 120 "$@" client 10.8.0.1 7000 $BYTES >"$D/$name.cli" 2>"$D/$name.cli.err"
	cst=$?
	wait "$spid"
	sst=$?
	[ $sst -eq 0 ] || { cat "$D/$name.srv.err"; fail "$name: the server exited $sst"; }
	[ $cst -eq 0 ] || { cat "$D/$name.cli.err"; fail "$name: the client exited $cst"; }
	got=$(sed -n 's/^received \([0-9]*\) sha256 \([0-9a-f]*\)$/\1 \2/p' "$D/$name.srv")
	sent=$(sed -n 's/^sent \([0-9]*\) sha256 \([0-9a-f]*\)$/\1 \2/p' "$D/$name.cli")
	[ -n "$got" ] && [ "$got" = "$sent" ] || fail "$name: sent '$sent', received '$got'"
	grep -q '^server socket viewed [1-9]' "$D/$name.srv" || fail "$name: no bytes viewed: $(cat "$D/$name.srv")"
	ok "$name: $BYTES bytes, sha256 equal; $(grep '^server' "$D/$name.srv")"
}

# --- (1) linked, two processes over a Trapeze wire ------------------------------------
LDP="$LIB"
run_pair linked env LD_LIBRARY_PATH="$LDP" ZCS_NIC="trapeze:$W-l,port=0" ZCS_IP=10.8.0.1/24 "$D/linked" :: \
	env LD_LIBRARY_PATH="$LDP" ZCS_NIC="trapeze:$W-l,port=1" ZCS_IP=10.8.0.2/24 "$D/linked"
out=$(LD_LIBRARY_PATH="$LDP" "$D/linked" probe) || fail "linked probe exited $?"
printf '%s\n' "$out" | grep -q '^available 1$' || fail "linked: zcx_available() is false: $out"
printf '%s\n' "$out" | grep -q ENOSYS && fail "linked: ENOSYS with libzcstack: $out"
printf '%s\n' "$out" | grep -q '^zstats -1 EBADF$' || fail "linked: zcx_zstats(-1): $out"
ok "linked probe: available, EBADF for a bad descriptor"

# --- (2) plain, under the installed zcrun on both ends -----------------------------------
ZCRUN="$BIN/zcrun"
pre=$("$ZCRUN" --nic "trapeze:$W-x" --ip 10.8.0.9/24 -- sh -c 'echo "$LD_PRELOAD"') || fail "zcrun (LD_PRELOAD) exited $?"
[ "$pre" = "$LIB/libzcpreload.so" ] || fail "the installed zcrun preloads '$pre', not $LIB/libzcpreload.so"
ok "the installed zcrun finds the installed libzcpreload.so by itself"
run_pair zcrun "$ZCRUN" --nic "trapeze:$W-z,port=0" --ip 10.8.0.1/24 -- "$D/plain" :: \
	"$ZCRUN" --nic "trapeze:$W-z,port=1" --ip 10.8.0.2/24 -- "$D/plain"
out=$("$ZCRUN" --nic "trapeze:$W-p" --ip 10.8.0.1/24 -- "$D/plain" probe) || fail "probe under zcrun exited $?"
printf '%s\n' "$out" | grep -q '^available 1$' || fail "under zcrun: zcx_available() is false: $out"
printf '%s\n' "$out" | grep -q ENOSYS && fail "under zcrun: ENOSYS: $out"
ok "plain probe under zcrun: available, no ENOSYS"

# --- (3) plain, without zcstack ----------------------------------------------------------
out=$("$D/plain" probe) || fail "plain probe exited $?"
printf '%s\n' "$out" | grep -q '^available 0$' || fail "without zcstack: zcx_available() is true: $out"
for c in recv_zc zstats ctx_zstats recv_zc_done release_range; do
	printf '%s\n' "$out" | grep -q "^$c -1 ENOSYS$" || fail "without zcstack: zcx_$c: $out"
done
ok "plain probe without zcstack: unavailable, every call ENOSYS"

# --- the programs and their manual pages --------------------------------------------------
"$ZCRUN" --help >"$D/help" || fail "zcrun --help exited $?"
grep -q "Example" "$D/help" || fail "zcrun --help has no example"
"$BIN/zcstat" --help >/dev/null || fail "zcstat --help exited $?"
ok "zcrun --help and zcstat --help from the install"
MAN=$(dirname "$(find "$ROOT" -name zcrun.1)")
[ -f "$MAN/zcrun.1" ] && [ -f "$MAN/zcstat.1" ] || fail "the manual pages are not installed"
for flag in --nic --ip --gw --pcap --zc --allow-static --verbose --help; do
	grep -q -- "$(echo "$flag" | sed 's/-/\\\\-/g')" "$MAN/zcrun.1" || fail "zcrun(1) does not describe $flag"
done
for v in $(grep -o 'ZCS_[A-Z_]*' "$D/help" | sort -u); do
	grep -q "^\.B $v\$" "$MAN/zcrun.1" || fail "zcrun(1) has no entry for $v"
done
if command -v groff >/dev/null 2>&1; then
	for m in zcrun.1 zcstat.1; do
		LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -rLL=80n -z "$MAN/$m" >"$D/man.err" 2>&1 ||
			fail "groff $m exited $?"
		[ ! -s "$D/man.err" ] || { cat "$D/man.err"; fail "groff warns on $m"; }
	done
	ok "zcrun(1) and zcstat(1) render without warnings; every zcrun --help flag and ZCS_ variable is in zcrun(1)"
else
	echo "skip: groff is not installed: the manual pages' rendering is not checked"
fi
echo "PASS"

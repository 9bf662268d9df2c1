#!/bin/sh
# kernel_loss.sh BUILD_DIR [ROUNDS] [BYTES] [LOSS] - the Linux kernel as
# peer over DPDK net_tap in a network namespace, with loss made on the
# stack's side by its fault layer in both directions (no netem here):
# tests/tcp_kernel.sh's two runs (the kernel connects; the stack connects),
# each moving BYTES (default 1 GiB) both ways at once on one connection,
# byte-exact by SHA-256, cubic at both ends. Per round and run, each
# direction's goodput (the stack's: until all its data is acknowledged; the
# kernel's: until the stack read its end of stream); then the medians of
# ROUNDS (default 3) rounds [min..max]. Needs root and /dev/net/tun.
set -u
build=$1 rounds=${2:-3} bytes=${3:-1073741824} loss=${4:-0.01}
here=$(dirname "$0")
peer=$build/tests/tcp_peer
[ -x "$peer" ] || { echo "kernel_loss: $peer not built" >&2; exit 1; }
log=$(mktemp)
r=1
while [ $r -le "$rounds" ]; do
	echo "round $r: $bytes bytes each way, loss=$loss both directions" >&2
	sh "$here/../tests/tcp_kernel.sh" "$peer" "$bytes" "loss=$loss,dir=both,seed=$r" >"$log.$r" 2>&1 ||
		{ echo "kernel_loss: round $r failed" >&2; cat "$log.$r" >&2; exit 1; }
	grep "goodput" "$log.$r" | sed "s/^/  /" >&2
	r=$((r + 1))
done
cat "$log".* | awk '
/^kernel client -> stack server/ { run = "the kernel connects" }
/^stack client -> kernel server/ { run = "the stack connects" }
/goodput:/ { s[run] = s[run] " " $5; k[run] = k[run] " " $10; q[run] = q[run] " " $5 / $10 }
function med(list,   a, n, i, j, t) {
	n = split(list, a, " ")
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
	return sprintf("%.1f [%.1f..%.1f]", (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2, a[1], a[n])
}
function medr(list,   a, n, i, j, t) {
	n = split(list, a, " ")
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
	return sprintf("%.2fx [%.2f..%.2f]", (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2, a[1], a[n])
}
END {
	print "| run | the stack sends MB/s | the kernel sends MB/s | stack / kernel |"
	print "|---|---|---|---|"
	for (r in s) printf "| %s | %s | %s | %s |\n", r, med(s[r]), med(k[r]), medr(q[r])
}'
rm -f "$log" "$log".*

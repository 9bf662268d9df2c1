#!/usr/bin/env python3
"""headline.py - the headline benchmark: unmodified iperf3 and a 64-byte TCP
ping-pong, on the Linux kernel over loopback and on zcstack through zcrun
(two processes on a simulated Trapeze wire), alternating in one run.

  headline.py BUILD_DIR [--rounds R] [--seconds T] [--count N] [--out DIR]

iperf3: its default command line (`iperf3 -s`, which listens on [::], and
`iperf3 -c`; -1 -p for the harness), one TCP stream, 128 KiB writes (its
default), T seconds, R rounds,
in the order kernel, zcrun --zc never, zcrun --zc auto each round; the
medians and the receiver's Gbit/s. Ping-pong: bench/pingpong, N round
trips of 64 bytes after a warm-up, median and p99 in microseconds, R rounds
alternating kernel and zcrun. Writes OUT/headline.csv, OUT/headline.md and
OUT/headline.png (gnuplot), and prints the table.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

IPERF_PORT = "5301"
PINGPONG_PORT = "5302"
# zcrun's two ends on the wire: the server on port 0, the client on port 1
ZC_SERVER, ZC_CLIENT = "10.9.9.1", "10.9.9.2"
# Seconds the server gets before its client starts. Not a readiness wait:
# iperf3 -s -1 serves one connection, so a probe would be its client, and
# under zcrun the kernel cannot see the port (pingpong's client retries).
SERVER_START_S = 0.4
SERVER_EXIT_S = 10  # the server's end after its client's
IPERF_GRACE_S = 30  # iperf3's client: its seconds and this
PINGPONG_TIMEOUT_S = 60


def run_pair(server, client, timeout):
    """Start server, run client to its end, wait for the server; client's stdout."""
    srv = subprocess.Popen(server, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(SERVER_START_S)
    try:
        out = subprocess.run(client, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        srv.kill()
        raise SystemExit("headline: timed out: %s" % " ".join(client))
    try:
        srv.wait(timeout=SERVER_EXIT_S)
    except subprocess.TimeoutExpired:
        srv.kill()
    if out.returncode != 0:
        sys.stderr.write(out.stdout[-2000:] + out.stderr[-2000:])
        raise SystemExit("headline: failed: %s" % " ".join(client))
    return out.stdout


def zc(zcrun, port, ip, policy, wire):
    return [zcrun, "--nic", "trapeze:%s,port=%d" % (wire, port), "--ip", ip, "--zc", policy, "--"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("build")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--count", type=int, default=20000)
    ap.add_argument("--out", default="results")
    a = ap.parse_args()
    zcrun = os.path.join(a.build, "sockapi", "zcrun")
    pp = os.path.join(a.build, "bench", "pingpong")
    for p in (zcrun, pp):
        if not os.access(p, os.X_OK):
            raise SystemExit("headline: %s is missing: build first" % p)
    if not shutil.which("iperf3"):
        raise SystemExit("headline: iperf3 is not installed (apt-get install iperf3)")
    os.makedirs(a.out, exist_ok=True)
    wire = "hl%d" % os.getpid()
    rows = []  # (test, path, round, value, extra)
    t = "%g" % a.seconds
    for r in range(a.rounds):
        for path in ("kernel", "zcrun-never", "zcrun-auto"):
            if path == "kernel":
                srv = ["iperf3", "-s", "-1", "-p", IPERF_PORT]
                cli = ["iperf3", "-c", "127.0.0.1", "-p", IPERF_PORT, "-t", t, "-J"]
            else:
                pol = path.split("-")[1]
                srv = zc(zcrun, 0, ZC_SERVER + "/24", pol, wire) + [
                    "iperf3", "-s", "-1", "-p", IPERF_PORT]
                cli = zc(zcrun, 1, ZC_CLIENT + "/24", pol, wire) + [
                    "iperf3", "-c", ZC_SERVER, "-p", IPERF_PORT, "-t", t, "-J"]
            j = json.loads(run_pair(srv, cli, a.seconds + IPERF_GRACE_S))
            e = j["end"]
            gbps = e["sum_received"]["bits_per_second"] / 1e9
            cpu = e.get("cpu_utilization_percent", {})
            rows.append(("iperf3", path, r, gbps, cpu.get("host_total", 0) + cpu.get("remote_total", 0)))
            print("round %d: iperf3 %-12s %6.2f Gbit/s" % (r + 1, path, gbps), flush=True)
        for path in ("kernel", "zcrun"):
            if path == "kernel":
                srv = [pp, "server", "127.0.0.1", PINGPONG_PORT]
                cli = [pp, "client", "127.0.0.1", PINGPONG_PORT, "--count", str(a.count)]
            else:
                srv = zc(zcrun, 0, ZC_SERVER + "/24", "auto", wire) + [pp, "server", ZC_SERVER, PINGPONG_PORT]
                cli = zc(zcrun, 1, ZC_CLIENT + "/24", "auto", wire) + [
                    pp, "client", ZC_SERVER, PINGPONG_PORT, "--count", str(a.count)]
            f = run_pair(srv, cli, PINGPONG_TIMEOUT_S).split()
            med, p99 = float(f[3]), float(f[4])
            rows.append(("pingpong-median-us", path, r, med, p99))
            rows.append(("pingpong-p99-us", path, r, p99, 0))
            print("round %d: pingpong %-7s median %.2f us p99 %.2f us" % (r + 1, path, med, p99), flush=True)

    def med(test, path, i=3):
        v = [x[i] for x in rows if x[0] == test and x[1] == path]
        return statistics.median(v) if v else float("nan")

    k = med("iperf3", "kernel")
    n = med("iperf3", "zcrun-never")
    z = med("iperf3", "zcrun-auto")
    lk, lz = med("pingpong-median-us", "kernel"), med("pingpong-median-us", "zcrun")
    pk, pz = med("pingpong-p99-us", "kernel"), med("pingpong-p99-us", "zcrun")
    with open(os.path.join(a.out, "headline.csv"), "w") as f:
        f.write("test,path,round,value,extra\n")
        for x in rows:
            f.write("%s,%s,%d,%.4f,%.2f\n" % x)
    md = []
    md.append("| test | Linux kernel (loopback) | zcstack via zcrun (Trapeze wire) | ratio |")
    md.append("|---|---|---|---|")
    md.append("| iperf3 Gbit/s, --zc never | %.2f | %.2f | %.2fx |" % (k, n, n / k))
    md.append("| iperf3 Gbit/s, --zc auto | %.2f | %.2f | %.2fx |" % (k, z, z / k))
    md.append("| 64-byte ping-pong median us | %.2f | %.2f | %.2fx |" % (lk, lz, lz / lk))
    md.append("| 64-byte ping-pong p99 us | %.2f | %.2f | %.2fx |" % (pk, pz, pz / pk))
    table = "\n".join(md)
    with open(os.path.join(a.out, "headline.md"), "w") as f:
        f.write("Medians of %d rounds, kernel and zcrun alternating (iperf3 -t %s, %d ping-pongs)\n\n"
                % (a.rounds, t, a.count) + table + "\n")
    print("\n## Headline: unmodified iperf3 and a 64-byte ping-pong, kernel vs zcstack "
          "(medians of %d rounds)\n" % a.rounds)
    print(table)
    print("\ntargets: iperf3 >= 3x the kernel (got %.2fx with auto); ping-pong <= 0.1x the kernel's "
          "latency (got %.2fx)" % (z / k, lz / lk))
    if shutil.which("gnuplot"):
        dat = os.path.join(a.out, "headline.dat")
        with open(dat, "w") as f:
            f.write('"iperf3 Gbit/s" %.3f %.3f %.3f\n' % (k, n, z))
            f.write('"ping-pong median us" %.3f %.3f %.3f\n' % (lk, lz, lz))
        png = os.path.join(a.out, "headline.png")
        gp = """set terminal pngcairo size 900,420 font ",10" noenhanced
set output '%s'
set multiplot layout 1,2 title "zcstack via zcrun (Trapeze wire) vs Linux kernel loopback, medians of %d rounds"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set grid ytics
set yrange [0:*]
set offsets 0,0,graph 0.25,0
set key top left
set title "iperf3, one stream (Gbit/s, higher is better)"
plot '%s' every ::0::0 using 2:xtic(1) title "kernel", '' every ::0::0 using 3 title "zcrun never", '' every ::0::0 using 4 title "zcrun auto"
set title "64-byte TCP ping-pong (median us, lower is better)"
plot '%s' every ::1::1 using 2:xtic(1) title "kernel", '' every ::1::1 using 3 title "zcrun"
unset multiplot
""" % (png, a.rounds, dat, dat)
        r = subprocess.run(["gnuplot"], input=gp, text=True, capture_output=True)
        if r.returncode == 0:
            print("plot: %s" % png)
        else:
            print("headline: gnuplot failed: %s" % r.stderr.strip()[:300])
    print("CSV: %s, table: %s" % (os.path.join(a.out, "headline.csv"), os.path.join(a.out, "headline.md")))


if __name__ == "__main__":
    main()

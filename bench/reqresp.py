#!/usr/bin/env python3
"""reqresp.py - request/response of N bytes each way (bench/reqresp.c),
the same binary on the Linux kernel over loopback and through zcrun on a
Trapeze wire (both ends), alternating, ROUNDS rounds:

    bench/reqresp.py BUILD_DIR [--rounds 5] [--zc auto] [--sizes 65536,...]
                     [--bytes 2000000000] [--out results]

Each cell moves about --bytes (both directions) in messages of one size on
one connection. Prints one line a round and cell, then a table of medians
[min..max] of messages/s, GB/s (both directions) and the CPU seconds per
GiB moved of the client and of the server (getrusage, all threads);
writes OUT/reqresp.csv and OUT/reqresp.md. A message whose sums differ
(what the server read against what was sent, what came back against what
the server sent) stops the benchmark.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

PORT = 7310
WIRE = "rrb%d" % os.getpid()


def run_cell(build, path, size, count, zc):
    rr = os.path.join(build, "bench", "reqresp")
    zcrun = os.path.join(build, "sockapi", "zcrun")
    if path == "kernel":
        srv_cmd = [rr, "server", "127.0.0.1", str(PORT)]
        cli_cmd = [rr, "client", "127.0.0.1", str(PORT), str(size), str(count)]
    else:
        for suffix in ("", ".irq0", ".irq1"):
            try:
                os.unlink("/dev/shm/zcwire-" + WIRE + suffix)
            except FileNotFoundError:
                pass
        def zcr(port, ip):
            return [zcrun, "--nic", "trapeze:%s,port=%d" % (WIRE, port), "--ip", ip, "--zc", zc, "--"]
        srv_cmd = zcr(0, "10.8.4.1/24") + [rr, "server", "10.8.4.1", str(PORT)]
        cli_cmd = zcr(1, "10.8.4.2/24") + [rr, "client", "10.8.4.1", str(PORT), str(size), str(count)]
    srv = subprocess.Popen(srv_cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        time.sleep(0.3)
        out = subprocess.run(cli_cmd, capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            raise SystemExit("reqresp.py: %s %d bytes: client failed: %s" % (path, size, out.stderr.strip()))
        f = out.stdout.split()
        return float(f[3]), float(f[4]), float(f[5]), float(f[6])
    finally:
        srv.terminate()
        srv.wait(timeout=20)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("build")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--zc", default="auto")
    ap.add_argument("--sizes", default="65536,262144,1048576,4194304,16777216")
    ap.add_argument("--bytes", type=float, default=2e9)
    ap.add_argument("--out", default="results")
    a = ap.parse_args()
    sizes = [int(s) for s in a.sizes.split(",")]
    rows = []
    for r in range(a.rounds):
        for size in sizes:
            count = max(10, int(a.bytes / (2 * size)))
            for path in ("kernel", "zcrun"):
                m, g, cc, sc = run_cell(a.build, path, size, count, a.zc)
                rows.append((size, path, r, m, g, cc, sc))
                print("round %d: %8d bytes %-6s %9.1f msg/s %6.3f GB/s cpu/GiB client %.3f server %.3f"
                      % (r + 1, size, path, m, g, cc, sc), flush=True)
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "reqresp.csv"), "w") as f:
        f.write("size,path,round,msgs_per_s,gbps,client_cpu_s_per_gib,server_cpu_s_per_gib\n")
        for row in rows:
            f.write("%d,%s,%d,%.1f,%.4f,%.4f,%.4f\n" % row)

    def cell(size, path, i):
        v = [row[i] for row in rows if row[0] == size and row[1] == path]
        return statistics.median(v), min(v), max(v)

    def fmt(t, p=3):
        return "%.*f [%.*f..%.*f]" % (p, t[0], p, t[1], p, t[2])

    md = ["| bytes | kernel GB/s | zcstack GB/s (--zc %s) | ratio | kernel CPU s/GiB (client+server) | zcstack CPU s/GiB |" % a.zc,
          "|---|---|---|---|---|---|"]
    for size in sizes:
        gk, gz = cell(size, "kernel", 4), cell(size, "zcrun", 4)
        ck = cell(size, "kernel", 5)[0] + cell(size, "kernel", 6)[0]
        cz = cell(size, "zcrun", 5)[0] + cell(size, "zcrun", 6)[0]
        md.append("| %d | %s | %s | %.2fx | %.3f | %.3f |" % (size, fmt(gk), fmt(gz), gz[0] / gk[0], ck, cz))
    table = "\n".join(md)
    with open(os.path.join(a.out, "reqresp.md"), "w") as f:
        f.write("## reqresp: medians of %d alternating rounds [min..max]\n\n%s\n" % (a.rounds, table))
    print(table)


if __name__ == "__main__":
    sys.exit(main())

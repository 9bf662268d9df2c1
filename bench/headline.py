#!/usr/bin/env python3
"""headline.py - the headline benchmark: unmodified iperf3, a 64-byte TCP
ping-pong and unmodified nginx under wrk, on the Linux kernel over loopback
and on zcstack through zcrun (two processes on a simulated Trapeze wire),
alternating in one run.

  headline.py BUILD_DIR [--rounds R] [--seconds T] [--count N] [--out DIR]
              [--no-nginx] [--no-memif] [--no-reqresp]

iperf3: its default command line (`iperf3 -s`, which listens on [::], and
`iperf3 -c`; -1 -p for the harness), one TCP stream, 128 KiB writes (its
default), T seconds, R rounds,
in the order kernel, zcrun --zc never, zcrun --zc auto each round; the
medians and the receiver's Gbit/s. Ping-pong: bench/pingpong, N round
trips of 64 bytes after a warm-up, median and p99 in microseconds, R rounds
alternating kernel and zcrun. nginx: a master and 2 worker processes
(`listen PORT`, a wildcard listener as nginx's default configuration has
it, access log off) serving a 612-byte index.html to `wrk -t1 -c8 -dT
--latency`, R rounds alternating kernel and zcrun (--zc auto, both ends);
the medians of wrk's requests/s and 99% latency (its 50% in the CSV). A
wrk run with a non-2xx answer or a connect or timeout error fails the
benchmark.
--no-nginx skips it, as does a missing nginx or wrk. iperf3 over DPDK's
net_memif: the same command lines through zcrun --zc auto on a memif pair
with a 32000-byte MTU (zc_mtu), after the kernel's round (--no-memif, or a
build without DPDK, leaves it out). reqresp: bench/reqresp.c at 1 MiB and
16 MiB (request and response each), kernel and zcrun --zc auto
(bench/reqresp.py's cells, --reqresp-bytes each); --no-reqresp leaves it
out. Writes OUT/headline.csv (every round), OUT/headline.md (medians
[min..max]) and OUT/headline.png (gnuplot: the medians as bars, each
round as a point), and prints the table.
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reqresp  # noqa: E402 (bench/reqresp.py: its cells)

IPERF_PORT = "5301"
PINGPONG_PORT = "5302"
NGINX_PORT = "5303"
# zcrun's two ends on the wire: the server on port 0, the client on port 1
ZC_SERVER, ZC_CLIENT = "10.9.9.1", "10.9.9.2"
# Seconds the server gets before its client starts. Not a readiness wait:
# iperf3 -s -1 serves one connection, so a probe would be its client, and
# under zcrun the kernel cannot see the port (pingpong's client retries).
SERVER_START_S = 0.4
SERVER_EXIT_S = 10  # the server's end after its client's
IPERF_GRACE_S = 30  # iperf3's client: its seconds and this
PINGPONG_TIMEOUT_S = 60
# nginx, unlike the others, is polled until it serves: a kernel connect for
# the kernel, zcstat's listener line for zcrun (the kernel cannot see it)
NGINX_READY_S = 10
NGINX_EXIT_S = 10  # SIGTERM to the master, then this for it and its workers
WRK_GRACE_S = 30  # wrk: its seconds and this
NGINX_WORKERS = 2
NGINX_PAGE_BYTES = 612  # index.html: the size of nginx's default page
RR_SIZES = (1 << 20, 16 << 20)  # reqresp: request and response bytes


def run_pair(server, client, timeout, start=SERVER_START_S):
    """Start server, run client to its end, wait for the server; client's stdout."""
    srv = subprocess.Popen(server, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(start)
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


MEMIF_MTU = 32000  # each frame in one memif buffer (nic/dpdk.c sets bsize)


def zc_memif(zcrun, role, ip, sock):
    return [zcrun, "--nic", "dpdk:net_memif0,role=%s,socket=%s,zc_mtu=%d" % (role, sock, MEMIF_MTU),
            "--ip", ip, "--zc", "auto", "--"]


def have_dpdk(build):
    """True when the build links the DPDK backend."""
    return os.path.exists(os.path.join(build, "nic", "libzcstack_nic_dpdk.a"))


def nginx_dir():
    """A temp dir with nginx.conf (a master, NGINX_WORKERS workers) and html/index.html."""
    d = tempfile.mkdtemp(prefix="headline-nginx-")
    os.chmod(d, 0o755)  # the workers run as nginx's default user, nobody
    os.mkdir(os.path.join(d, "html"), 0o755)
    head, tail = "<!DOCTYPE html>\n<html><body>\n<p>", "</p>\n</body></html>\n"
    with open(os.path.join(d, "html", "index.html"), "w") as f:
        f.write(head + "x" * (NGINX_PAGE_BYTES - len(head) - len(tail)) + tail)
    os.chmod(os.path.join(d, "html", "index.html"), 0o644)
    with open(os.path.join(d, "nginx.conf"), "w") as f:
        f.write("daemon off;\nworker_processes %d;\nerror_log %s/error.log;\npid %s/nginx.pid;\n"
                "events { worker_connections 1024; }\n"
                "http { access_log off; server { listen %s; root %s/html; } }\n"
                % (NGINX_WORKERS, d, d, NGINX_PORT, d))
    return d


def children(pid):
    """The pids whose parent is pid (nginx's workers of its master)."""
    kids = []
    for e in os.listdir("/proc"):
        if not e.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % e) as f:
                st = f.read()
        except OSError:
            continue
        if int(st[st.rindex(")") + 2:].split()[1]) == pid:
            kids.append(int(e))
    return kids


def alive(pid):
    """pid exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
    except OSError:
        return False
    return st[st.rindex(")") + 2] != "Z"


def nginx_ready(srv, zcstat, host):
    """Whether nginx serves: a kernel connect, or (zcstat) the stack's listener."""
    if zcstat is None:
        try:
            socket.create_connection((host, int(NGINX_PORT)), timeout=1).close()
            return True
        except OSError:
            return False
    want = re.compile(r"^fd [0-9]* tcp LISTEN %s:%s " % (re.escape(host), NGINX_PORT), re.M)
    for p in [srv.pid] + children(srv.pid):
        r = subprocess.run([zcstat, str(p)], capture_output=True, text=True)
        if want.search(r.stdout):
            return True
    return False


def nginx_stop(srv):
    """SIGTERM the master; wait for it and its workers, kill -9 after NGINX_EXIT_S."""
    kids = children(srv.pid)
    srv.send_signal(signal.SIGTERM)
    end = time.monotonic() + NGINX_EXIT_S
    while time.monotonic() < end:
        if srv.poll() is not None and not any(alive(k) for k in kids):
            return
        time.sleep(0.05)
    for p in [srv.pid] + kids:
        try:
            os.kill(p, signal.SIGKILL)
        except OSError:
            pass
    srv.wait()


def usecs(v):
    """wrk's time ("48.00us", "1.20ms", "2.00s", "1.00m") in microseconds."""
    m = re.fullmatch(r"([0-9.]+)(us|ms|s|m)", v)
    return float(m.group(1)) * {"us": 1, "ms": 1e3, "s": 1e6, "m": 60e6}[m.group(2)]


def run_nginx(server, client, zcstat, host, dir_, seconds):
    """Start nginx, wait until it serves, run wrk; (req/s, p50 us, p99 us)."""
    err = open(os.path.join(dir_, "stderr"), "w")
    srv = subprocess.Popen(server, stdout=subprocess.DEVNULL, stderr=err)
    err.close()
    try:
        end = time.monotonic() + NGINX_READY_S
        while not nginx_ready(srv, zcstat, host):
            if srv.poll() is not None or time.monotonic() > end:
                log = ""
                for n in ("stderr", "error.log"):
                    if os.path.exists(os.path.join(dir_, n)):
                        log += open(os.path.join(dir_, n)).read()[-2000:]
                sys.stderr.write(log)
                raise SystemExit("headline: nginx did not serve within %d s: %s"
                                 % (NGINX_READY_S, " ".join(server)))
            time.sleep(0.05)
        try:
            out = subprocess.run(client, capture_output=True, text=True, timeout=seconds + WRK_GRACE_S)
        except subprocess.TimeoutExpired:
            raise SystemExit("headline: timed out: %s" % " ".join(client))
    finally:
        nginx_stop(srv)
    o = out.stdout
    rps = re.search(r"^Requests/sec:\s+([0-9.]+)", o, re.M)
    p50 = re.search(r"^\s+50%\s+(\S+)", o, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", o, re.M)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", o)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", o)
    if (out.returncode != 0 or not (rps and p50 and p99) or non2xx
            or (sock and (int(sock.group(1)) or int(sock.group(4))))):
        sys.stderr.write(o[-2000:] + out.stderr[-2000:])
        raise SystemExit("headline: failed: %s" % " ".join(client))
    return float(rps.group(1)), usecs(p50.group(1)), usecs(p99.group(1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("build")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--count", type=int, default=20000)
    ap.add_argument("--out", default="results")
    ap.add_argument("--no-nginx", action="store_true", help="skip nginx under wrk")
    ap.add_argument("--no-memif", action="store_true", help="skip iperf3 over net_memif")
    ap.add_argument("--no-reqresp", action="store_true", help="skip the request/response cells")
    ap.add_argument("--reqresp-bytes", type=float, default=1e9, help="bytes a reqresp cell moves")
    a = ap.parse_args()
    zcrun = os.path.join(a.build, "sockapi", "zcrun")
    zcstat = os.path.join(a.build, "sockapi", "zcstat")
    pp = os.path.join(a.build, "bench", "pingpong")
    for p in (zcrun, zcstat, pp):
        if not os.access(p, os.X_OK):
            raise SystemExit("headline: %s is missing: build first" % p)
    if not shutil.which("iperf3"):
        raise SystemExit("headline: iperf3 is not installed (apt-get install iperf3)")
    nginx = not a.no_nginx
    if nginx and not (shutil.which("nginx") and shutil.which("wrk")):
        print("headline: skipping nginx: nginx or wrk is not installed (apt-get install nginx-light wrk)")
        nginx = False
    memif = not a.no_memif and have_dpdk(a.build)
    if not a.no_memif and not memif:
        print("headline: skipping memif: the build has no DPDK backend")
    os.makedirs(a.out, exist_ok=True)
    wire = "hl%d" % os.getpid()
    sock = "/tmp/zcstack-hl%d.sock" % os.getpid()
    reqresp.WIRE = "rrh%d" % os.getpid()
    rows = []  # (test, path, round, value, extra)
    t = "%g" % a.seconds
    for r in range(a.rounds):
        for path in ("kernel", "zcrun-never", "zcrun-auto") + (("zcrun-memif",) if memif else ()):
            if path == "kernel":
                srv = ["iperf3", "-s", "-1", "-p", IPERF_PORT]
                cli = ["iperf3", "-c", "127.0.0.1", "-p", IPERF_PORT, "-t", t, "-J"]
            elif path == "zcrun-memif":
                if os.path.exists(sock):
                    os.unlink(sock)
                srv = zc_memif(zcrun, "server", ZC_SERVER + "/24", sock) + [
                    "iperf3", "-s", "-1", "-p", IPERF_PORT]
                cli = zc_memif(zcrun, "client", ZC_CLIENT + "/24", sock) + [
                    "iperf3", "-c", ZC_SERVER, "-p", IPERF_PORT, "-t", t, "-J"]
            else:
                pol = path.split("-")[1]
                srv = zc(zcrun, 0, ZC_SERVER + "/24", pol, wire) + [
                    "iperf3", "-s", "-1", "-p", IPERF_PORT]
                cli = zc(zcrun, 1, ZC_CLIENT + "/24", pol, wire) + [
                    "iperf3", "-c", ZC_SERVER, "-p", IPERF_PORT, "-t", t, "-J"]
            # a memif server's EAL takes about a second before its socket
            j = json.loads(run_pair(srv, cli, a.seconds + IPERF_GRACE_S,
                                    1.5 if path == "zcrun-memif" else SERVER_START_S))
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
        for path in ("kernel", "zcrun") if nginx else ():
            d = nginx_dir()
            ngx = ["nginx", "-c", os.path.join(d, "nginx.conf"), "-p", d]
            wrk = ["wrk", "-t1", "-c8", "-d%ss" % t, "--latency"]
            try:
                if path == "kernel":
                    rps, p50, p99 = run_nginx(ngx, wrk + ["http://127.0.0.1:%s/index.html" % NGINX_PORT],
                                              None, "127.0.0.1", d, a.seconds)
                else:
                    rps, p50, p99 = run_nginx(
                        zc(zcrun, 0, ZC_SERVER + "/24", "auto", wire) + ngx,
                        zc(zcrun, 1, ZC_CLIENT + "/24", "auto", wire) + wrk + [
                            "http://%s:%s/index.html" % (ZC_SERVER, NGINX_PORT)],
                        zcstat, ZC_SERVER, d, a.seconds)
            finally:
                shutil.rmtree(d, ignore_errors=True)
            rows.append(("nginx-rps", path, r, rps, p50))
            rows.append(("nginx-p99-us", path, r, p99, 0))
            print("round %d: nginx %-7s %9.0f req/s p50 %.1f us p99 %.1f us" % (r + 1, path, rps, p50, p99),
                  flush=True)

        for size in RR_SIZES if not a.no_reqresp else ():
            count = max(10, int(a.reqresp_bytes / (2 * size)))
            for path in ("kernel", "zcrun"):
                m, g, cc, sc = reqresp.run_cell(a.build, path, size, count, "auto")
                rows.append(("reqresp-%dM-GBps" % (size >> 20), path, r, g, cc + sc))
                print("round %d: reqresp %2d MiB %-7s %6.3f GB/s cpu %.3f s/GiB"
                      % (r + 1, size >> 20, path, g, cc + sc), flush=True)

    def vals(test, path, i=3):
        return [x[i] for x in rows if x[0] == test and x[1] == path]

    def med(test, path, i=3):
        v = vals(test, path, i)
        return statistics.median(v) if v else float("nan")

    def mm(test, path, p=2):
        v = vals(test, path)
        if not v:
            return "-"
        return "%.*f [%.*f..%.*f]" % (p, statistics.median(v), p, min(v), p, max(v))

    k = med("iperf3", "kernel")
    n = med("iperf3", "zcrun-never")
    z = med("iperf3", "zcrun-auto")
    lk, lz = med("pingpong-median-us", "kernel"), med("pingpong-median-us", "zcrun")
    pk, pz = med("pingpong-p99-us", "kernel"), med("pingpong-p99-us", "zcrun")
    rk, rz = med("nginx-rps", "kernel"), med("nginx-rps", "zcrun")
    nk, nz = med("nginx-p99-us", "kernel"), med("nginx-p99-us", "zcrun")
    with open(os.path.join(a.out, "headline.csv"), "w") as f:
        f.write("test,path,round,value,extra\n")
        for x in rows:
            f.write("%s,%s,%d,%.4f,%.2f\n" % x)
    md = []
    md.append("| test | Linux kernel (loopback) | zcstack via zcrun | ratio of medians |")
    md.append("|---|---|---|---|")
    md.append("| iperf3 Gbit/s, Trapeze wire, --zc never | %s | %s | %.2fx |"
              % (mm("iperf3", "kernel"), mm("iperf3", "zcrun-never"), n / k))
    md.append("| iperf3 Gbit/s, Trapeze wire, --zc auto | %s | %s | %.2fx |"
              % (mm("iperf3", "kernel"), mm("iperf3", "zcrun-auto"), z / k))
    if memif:
        mz = med("iperf3", "zcrun-memif")
        md.append("| iperf3 Gbit/s, net_memif MTU %d, --zc auto | %s | %s | %.2fx |"
                  % (MEMIF_MTU, mm("iperf3", "kernel"), mm("iperf3", "zcrun-memif"), mz / k))
    md.append("| 64-byte ping-pong median us | %s | %s | %.2fx |"
              % (mm("pingpong-median-us", "kernel"), mm("pingpong-median-us", "zcrun"), lz / lk))
    md.append("| 64-byte ping-pong p99 us | %s | %s | %.2fx |"
              % (mm("pingpong-p99-us", "kernel"), mm("pingpong-p99-us", "zcrun"), pz / pk))
    if nginx:
        md.append("| nginx (2 workers) + wrk, req/s | %s | %s | %.2fx |"
                  % (mm("nginx-rps", "kernel", 0), mm("nginx-rps", "zcrun", 0), rz / rk))
        md.append("| nginx + wrk p99 latency us | %s | %s | %.2fx |"
                  % (mm("nginx-p99-us", "kernel", 0), mm("nginx-p99-us", "zcrun", 0), nz / nk))
    for size in RR_SIZES if not a.no_reqresp else ():
        tn = "reqresp-%dM-GBps" % (size >> 20)
        md.append("| reqresp %d MiB GB/s (CPU s/GiB %.3f / %.3f) | %s | %s | %.2fx |"
                  % (size >> 20, med(tn, "kernel", 4), med(tn, "zcrun", 4), mm(tn, "kernel", 3),
                     mm(tn, "zcrun", 3), med(tn, "zcrun") / med(tn, "kernel")))
    table = "\n".join(md)
    with open(os.path.join(a.out, "headline.md"), "w") as f:
        f.write("Medians [min..max] of %d rounds, kernel and zcrun alternating (iperf3 -t %s, %d ping-pongs%s)\n\n"
                % (a.rounds, t, a.count, ", wrk -d %ss" % t if nginx else "") + table + "\n")
    print("\n## Headline: unmodified iperf3%s and a 64-byte ping-pong, kernel vs zcstack "
          "(medians of %d rounds)\n" % (", nginx" if nginx else "", a.rounds))
    print(table)
    goals = ["iperf3 (auto) >= 5x the kernel, lowest round >= 4x: got %.2fx, lowest %.2fx"
             % (z / k, min(vals("iperf3", "zcrun-auto")) / k),
             "ping-pong <= 0.1x the kernel's latency: got %.2fx" % (lz / lk)]
    if memif:
        goals.append("iperf3 over memif >= 2x the kernel: got %.2fx" % (med("iperf3", "zcrun-memif") / k))
    if nginx:
        goals.append("nginx >= 2x the kernel's req/s: got %.2fx" % (rz / rk))
    for size in RR_SIZES if not a.no_reqresp else ():
        tn = "reqresp-%dM-GBps" % (size >> 20)
        goals.append("reqresp %d MiB >= 1.5x the kernel's GB/s: got %.2fx"
                     % (size >> 20, med(tn, "zcrun") / med(tn, "kernel")))
    print("\ntargets:\n  " + "\n  ".join(goals))
    if shutil.which("gnuplot"):
        # one panel a test: the medians as bars, each round as a point
        panels = [("iperf3, one stream (Gbit/s, higher is better)", "iperf3",
                   ["kernel", "zcrun-never", "zcrun-auto"] + (["zcrun-memif"] if memif else [])),
                  ("64-byte ping-pong (median us, lower is better)", "pingpong-median-us", ["kernel", "zcrun"])]
        if nginx:
            panels.append(("nginx + wrk -c8 (req/s, higher is better)", "nginx-rps", ["kernel", "zcrun"]))
        for size in RR_SIZES if not a.no_reqresp else ():
            panels.append(("reqresp %d MiB (GB/s, higher is better)" % (size >> 20),
                           "reqresp-%dM-GBps" % (size >> 20), ["kernel", "zcrun"]))
        png = os.path.join(a.out, "headline.png")
        cols = 3
        nrows = (len(panels) + cols - 1) // cols
        gp = ['set terminal pngcairo size 1400,%d font ",10" noenhanced' % (400 * nrows),
              "set output '%s'" % png,
              'set multiplot layout %d,%d title "zcstack via zcrun vs Linux kernel loopback: medians '
              '(bars) and each of %d rounds (points)"' % (nrows, cols, a.rounds),
              "set style fill solid 0.5 border -1", "set boxwidth 0.6", "set grid ytics",
              "set yrange [0:*]", "set offsets 0.5,0.5,graph 0.1,0", "unset key", "set xtics nomirror"]
        for i, (title, test, paths) in enumerate(panels):
            dat = os.path.join(a.out, "headline-%d.dat" % i)
            with open(dat, "w") as f:
                for j, path in enumerate(paths):
                    f.write('%d "%s" %.4f\n' % (j, path.replace("zcrun-", "zcrun "), med(test, path)))
                f.write("\n\n")
                for j, path in enumerate(paths):
                    for v in vals(test, path):
                        f.write("%d %.4f\n" % (j, v))
            gp.append('set title "%s"' % title)
            gp.append("plot '%s' index 0 using 1:3:xtic(2) with boxes lc rgb '#4477aa', "
                      "'' index 1 using 1:2 with points pt 7 ps 0.8 lc rgb '#cc3311'" % dat)
        gp.append("unset multiplot")
        r = subprocess.run(["gnuplot"], input="\n".join(gp) + "\n", text=True, capture_output=True)
        if r.returncode == 0:
            print("plot: %s" % png)
        else:
            print("headline: gnuplot failed: %s" % r.stderr.strip()[:300])
    print("CSV: %s, table: %s" % (os.path.join(a.out, "headline.csv"), os.path.join(a.out, "headline.md")))


if __name__ == "__main__":
    main()

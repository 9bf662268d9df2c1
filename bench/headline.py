#!/usr/bin/env python3
"""headline.py - the headline benchmark: unmodified iperf3, a 64-byte TCP
ping-pong and unmodified nginx under wrk, on the Linux kernel over loopback
and on zcstack through zcrun (two processes on a simulated Trapeze wire),
alternating in one run.

  headline.py BUILD_DIR [--rounds R] [--seconds T] [--count N] [--out DIR]
              [--no-nginx]

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
--no-nginx skips it, as does a missing nginx or wrk. Writes
OUT/headline.csv, OUT/headline.md and OUT/headline.png (gnuplot), and
prints the table.
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
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--count", type=int, default=20000)
    ap.add_argument("--out", default="results")
    ap.add_argument("--no-nginx", action="store_true", help="skip nginx under wrk")
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

    def med(test, path, i=3):
        v = [x[i] for x in rows if x[0] == test and x[1] == path]
        return statistics.median(v) if v else float("nan")

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
    md.append("| test | Linux kernel (loopback) | zcstack via zcrun (Trapeze wire) | ratio |")
    md.append("|---|---|---|---|")
    md.append("| iperf3 Gbit/s, --zc never | %.2f | %.2f | %.2fx |" % (k, n, n / k))
    md.append("| iperf3 Gbit/s, --zc auto | %.2f | %.2f | %.2fx |" % (k, z, z / k))
    md.append("| 64-byte ping-pong median us | %.2f | %.2f | %.2fx |" % (lk, lz, lz / lk))
    md.append("| 64-byte ping-pong p99 us | %.2f | %.2f | %.2fx |" % (pk, pz, pz / pk))
    if nginx:
        md.append("| nginx (2 workers) + wrk, req/s | %.0f | %.0f | %.2fx |" % (rk, rz, rz / rk))
        md.append("| nginx + wrk p99 latency us | %.1f | %.1f | %.2fx |" % (nk, nz, nz / nk))
    table = "\n".join(md)
    with open(os.path.join(a.out, "headline.md"), "w") as f:
        f.write("Medians of %d rounds, kernel and zcrun alternating (iperf3 -t %s, %d ping-pongs%s)\n\n"
                % (a.rounds, t, a.count, ", wrk -d %ss" % t if nginx else "") + table + "\n")
    print("\n## Headline: unmodified iperf3%s and a 64-byte ping-pong, kernel vs zcstack "
          "(medians of %d rounds)\n" % (", nginx" if nginx else "", a.rounds))
    print(table)
    print("\ntargets: iperf3 >= 3x the kernel (got %.2fx with auto); ping-pong <= 0.1x the kernel's "
          "latency (got %.2fx)%s" % (z / k, lz / lk,
                                   "; nginx >= 2x the kernel's req/s (got %.2fx)" % (rz / rk) if nginx else ""))
    if shutil.which("gnuplot"):
        dat = os.path.join(a.out, "headline.dat")
        with open(dat, "w") as f:
            f.write('"iperf3 Gbit/s" %.3f %.3f %.3f\n' % (k, n, z))
            f.write('"ping-pong median us" %.3f %.3f %.3f\n' % (lk, lz, lz))
            f.write('"nginx req/s" %.1f %.1f %.1f\n' % (rk, rz, rz))
        png = os.path.join(a.out, "headline.png")
        gp = """set terminal pngcairo size %d,420 font ",10" noenhanced
set output '%s'
set multiplot layout 1,%d title "zcstack via zcrun (Trapeze wire) vs Linux kernel loopback, medians of %d rounds"
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
""" % (1350 if nginx else 900, png, 3 if nginx else 2, a.rounds, dat, dat)
        if nginx:
            gp += """set title "nginx, 2 workers, wrk -c8 (req/s, higher is better)"
plot '%s' every ::2::2 using 2:xtic(1) title "kernel", '' every ::2::2 using 3 title "zcrun"
""" % dat
        gp += "unset multiplot\n"
        r = subprocess.run(["gnuplot"], input=gp, text=True, capture_output=True)
        if r.returncode == 0:
            print("plot: %s" % png)
        else:
            print("headline: gnuplot failed: %s" % r.stderr.strip()[:300])
    print("CSV: %s, table: %s" % (os.path.join(a.out, "headline.csv"), os.path.join(a.out, "headline.md")))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""loss_table.py - TCP loss recovery in deterministic simulation: zcstack
against zcstack over a Trapeze wire in virtual time (tests/tcp_sim), with
seeded loss (both directions: data and ACKs) and optional reordering, for
NewReno and CUBIC, without SACK (NewReno's recovery alone), with SACK (RFC
6675 recovery) and with SACK and tail loss probes (RFC 8985 7, the default).

  loss_table.py BUILD_DIR [--bytes N] [--seeds K] [--delay DUR] [--mtu M]
                [--loss P,P,...] [--reorder R,R,...] [--out DIR]

Each cell runs K seeds (default 3) of N bytes (default 256 MiB) one way,
client to server; every run must end byte-exact (tcp_sim compares SHA-256
of what was sent and received, and checks that nothing leaked), else the
table fails. The one-way delay is DUR (default 10 ms: RTT 20 ms), the MTU
M (default 4096: one page of payload a frame). Per cell: goodput of the
transfer in virtual time (Mbit/s), data bytes retransmitted, DSACKs the
sender received (data the receiver got twice: spurious retransmissions,
since the path duplicates nothing), recovery episodes (fast retransmits)
retransmission timeouts and tail loss probes, each the median of the
seeds [min..max].
The same seed gives the same figures on any machine.

Writes OUT/loss_table.csv (every run) and OUT/loss_table.md (the table);
prints the table.
"""
import argparse
import os
import statistics
import subprocess
import sys


def run(sim, args):
    p = subprocess.run([sim] + args, capture_output=True, text=True)
    out = p.stdout
    if p.returncode != 0 or "PASS" not in out:
        sys.exit("loss_table: run failed: %s\n%s%s" % (" ".join([sim] + args), out[-2000:], p.stderr[-2000:]))
    for line in out.splitlines():
        if line.startswith("csv: "):
            return {k: float(v) for k, v in (kv.split("=") for kv in line[5:].split())}
    sys.exit("loss_table: no csv line from " + " ".join(args))


def cell(vals, fmt):
    m = statistics.median(vals)
    return "%s [%s..%s]" % (fmt % m, fmt % min(vals), fmt % max(vals))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("build")
    ap.add_argument("--bytes", type=int, default=256 << 20)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--delay", default="10ms")
    ap.add_argument("--mtu", type=int, default=4096)
    ap.add_argument("--loss", default="0.001,0.01,0.03,0.10")
    ap.add_argument("--reorder", default="0,0.01")
    ap.add_argument("--out", default="results")
    a = ap.parse_args()
    sim = os.path.join(a.build, "tests", "tcp_sim")
    if not os.access(sim, os.X_OK):
        sys.exit("loss_table: %s not built (ninja -C %s)" % (sim, a.build))
    os.makedirs(a.out, exist_ok=True)
    variants = [(cc, rec) for cc in ("newreno", "cubic") for rec in ("off", "sack", "sack+tlp", "rack+tlp")]
    rows, csv = [], ["loss,reorder,cc,recovery,seed,goodput_mbit,retrans_bytes,dsacks,recoveries,timeouts,rescues,"
                     "tlp,secs"]
    for loss in a.loss.split(","):
        for reo in a.reorder.split(","):
            for cc, rec in variants:
                res = []
                for seed in range(1, a.seeds + 1):
                    args = ["--bytes", str(a.bytes), "--loss", loss, "--reorder", reo, "--delay", a.delay,
                            "--mtu", str(a.mtu), "--cc", cc, "--seed", str(seed), "--csv"]
                    if rec == "off":
                        args.append("--no-sack")
                    elif rec == "sack":
                        args += ["--no-tlp", "--no-rack"]
                    elif rec == "sack+tlp":
                        args.append("--no-rack")
                    r = run(sim, args)
                    res.append(r)
                    csv.append(",".join([loss, reo, cc, rec, str(seed)] +
                                        ["%g" % r[k] for k in ("goodput_mbit", "retrans_bytes", "dsacks",
                                                               "recoveries", "timeouts", "rescues", "tlp",
                                                               "secs")]))
                rows.append([("%g%%" % (float(loss) * 100)), ("%g%%" % (float(reo) * 100)), cc, rec,
                             cell([r["goodput_mbit"] for r in res], "%.1f"),
                             cell([r["retrans_bytes"] / 2**20 for r in res], "%.2f"),
                             cell([r["dsacks"] for r in res], "%d"),
                             cell([r["recoveries"] for r in res], "%d"),
                             cell([r["timeouts"] for r in res], "%d"),
                             cell([r["tlp"] for r in res], "%d")])
                print("  loss %s reorder %s %s %s: %s Mbit/s" % (rows[-1][0], rows[-1][1], cc, rows[-1][3],
                                                                      rows[-1][4]), file=sys.stderr)
    head = ["loss", "reorder", "cc", "recovery", "goodput Mbit/s", "retransmitted MiB", "DSACKs (spurious)",
            "fast recoveries", "timeouts", "probes"]
    md = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    md += ["| " + " | ".join(r) + " |" for r in rows]
    cmd = "bench/loss_table.py %s --bytes %d --seeds %d --delay %s --mtu %d --loss %s --reorder %s" % (
        a.build, a.bytes, a.seeds, a.delay, a.mtu, a.loss, a.reorder)
    text = ("%d MiB one way per run, one-way delay %s, MTU %d, %d seeds a cell: median [min..max]; every run "
            "byte-exact.\n`%s`\n\n" % (a.bytes >> 20, a.delay, a.mtu, a.seeds, cmd)) + "\n".join(md) + "\n"
    with open(os.path.join(a.out, "loss_table.csv"), "w") as f:
        f.write("\n".join(csv) + "\n")
    with open(os.path.join(a.out, "loss_table.md"), "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()

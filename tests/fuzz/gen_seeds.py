#!/usr/bin/python3
"""gen_seeds.py DIR - writes the seed corpora of the fuzz harnesses
(DIR/frame, DIR/tcp, DIR/config, DIR/wire): one input per kind of frame or segment sequence the
harness's comments describe, built by hand (struct), checksums left to
the harness (its control bits). Run once; the files are kept in the tree
and the harnesses replay them first in every run."""
import os, struct, sys

MAC_B = bytes([2, 0, 0, 0, 0, 2])
MAC_X = bytes([2, 0, 0, 0, 0, 5])
IP_B, IP_X = 0x0a000002, 0x0a000005


def eth(t, dst=MAC_B):
    return dst + MAC_X + struct.pack(">H", t)


def ip(proto, payload, src=IP_X, dst=IP_B, frag=0, opts=b"", ident=7):
    hl = 20 + len(opts)
    return struct.pack(">BBHHHBBHII", 0x40 | hl // 4, 0, hl + len(payload), ident, frag, 64, proto, 0,
                       src, dst) + opts + payload


def tcp(sport, dport, seq, ack, flags, win=512, opts=b"", data=b""):
    return struct.pack(">HHIIBBHHH", sport, dport, seq & 0xffffffff, ack & 0xffffffff,
                       (20 + len(opts)) // 4 << 4, flags, win, 0, 0) + opts + data


def udp(sport, dport, data):
    return struct.pack(">HHHH", sport, dport, 8 + len(data), 0) + data


def icmp(t, code, rest):
    return struct.pack(">BBH", t, code, 0) + rest


def arp(op, spa, tpa, sha=MAC_X):
    return struct.pack(">HHBBH", 1, 0x0800, 6, 4, op) + sha + struct.pack(">I", spa) + bytes(6) + \
        struct.pack(">I", tpa)


FIN, SYN, RST, PSH, ACK, URG = 1, 2, 4, 8, 16, 32
SYN_OPTS = bytes([2, 4, 5, 180, 3, 3, 7, 1, 4, 2, 1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1])
TS = bytes([1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 0])


def frames():
    f = {}
    f["arp-request"] = b"\x00" + eth(0x0806, b"\xff" * 6) + arp(1, IP_X, IP_B) + bytes(18)
    f["arp-reply"] = b"\x00" + eth(0x0806) + arp(2, 0x0a000006, IP_B) + bytes(18)
    f["icmp-echo"] = b"\x03" + eth(0x0800) + ip(1, icmp(8, 0, struct.pack(">HH", 1, 1) + bytes(56)))
    quote = ip(6, tcp(40000, 80, 1001, 0, ACK)[:8])
    quote = quote[:2] + struct.pack(">H", 20 + 20) + quote[4:]
    f["icmp-frag-needed"] = b"\x03" + eth(0x0800) + ip(1, icmp(3, 4, struct.pack(">HH", 0, 576) + quote))
    f["icmp-port-unreach"] = b"\x03" + eth(0x0800) + ip(1, icmp(3, 3, bytes(4) + quote))
    f["udp-9"] = b"\x03" + eth(0x0800) + ip(17, udp(5000, 9, b"hello"))
    f["udp-closed"] = b"\x03" + eth(0x0800) + ip(17, udp(5000, 7, b"x" * 100))
    f["udp-bcast"] = b"\x03" + eth(0x0800, b"\xff" * 6) + ip(17, udp(5000, 9, b"b"), dst=0x0a0000ff)
    f["ip-frag-first"] = b"\x03" + eth(0x0800) + ip(17, udp(5000, 9, b"f" * 24)[:16], frag=0x2000)
    f["ip-frag-last"] = b"\x01" + eth(0x0800) + ip(17, b"g" * 16, frag=2)
    f["ip-frag-dup"] = b"\x07" + eth(0x0800) + ip(17, udp(5000, 9, b"d" * 24)[:16], frag=0x2000)
    f["ip-options"] = b"\x03" + eth(0x0800) + ip(17, udp(5000, 9, b"o"), opts=bytes([7, 7, 4, 0, 0, 0, 0, 1]))
    f["tcp-syn"] = b"\x03" + eth(0x0800) + ip(6, tcp(41000, 80, 5000, 0, SYN, 65535, SYN_OPTS))
    f["tcp-syn-closed"] = b"\x03" + eth(0x0800) + ip(6, tcp(41000, 81, 5000, 0, SYN, 65535, SYN_OPTS))
    f["tcp-data"] = b"\x13" + eth(0x0800) + ip(6, tcp(40000, 80, 0, 0, ACK | PSH, 512, TS, b"d" * 100))
    f["tcp-ooo"] = b"\x13" + eth(0x0800) + ip(6, tcp(40000, 80, 3000, 0, ACK, 512, TS, b"o" * 200))
    f["tcp-fin"] = b"\x1b" + eth(0x0800) + ip(6, tcp(40000, 80, 0, 0, ACK | FIN, 512, TS))
    f["tcp-rst"] = b"\x13" + eth(0x0800) + ip(6, tcp(40000, 80, 0, 0, RST))
    f["tcp-rst-guess"] = b"\x13" + eth(0x0800) + ip(6, tcp(40000, 80, 100, 0, RST))
    f["tcp-syn-in-window"] = b"\x13" + eth(0x0800) + ip(6, tcp(40000, 80, 5, 0, SYN, 512, SYN_OPTS))
    u = tcp(40000, 80, 0, 0, ACK | URG | PSH, 512, TS, b"u" * 10)
    f["tcp-urg"] = b"\x13" + eth(0x0800) + ip(6, u[:18] + b"\x00\x05" + u[20:])
    f["tcp-zero-win"] = b"\x13" + eth(0x0800) + ip(6, tcp(40000, 80, 0, 0, ACK, 0, TS))
    f["tcp-bad-opts"] = b"\x13" + eth(0x0800) + ip(6, tcp(40000, 80, 0, 0, ACK, 512, bytes([5, 10, 0, 0, 0, 0,
                                                                                           0, 0, 0, 1, 8, 3])))
    f["tcp-big"] = b"\x13" + eth(0x0800) + ip(6, tcp(40000, 80, 0, 0, ACK | PSH, 512, TS, b"B" * 1400))
    return f


def rec(flags, app=0, k=0, seq=0, ack=0, win=512, dlen=0, opts=b"", bad=False):
    return struct.pack(">BBhhHBB", flags, app | (4 if bad else 0) | k << 4, seq, ack, win, dlen // 8,
                       len(opts)) + opts


def sack(*blocks):
    b = b"".join(struct.pack(">II", l & 0xffffffff, r & 0xffffffff) for l, r in blocks)
    return bytes([1, 1, 5, 2 + len(b)]) + b


def tcps():
    M = 1448
    t = {}
    t["listen-handshake"] = bytes([0]) + rec(SYN, opts=SYN_OPTS, win=65535, seq=-1) + rec(ACK, ack=0) + \
        rec(ACK | PSH, dlen=96, app=2)
    t["syn-sent-answer"] = bytes([1]) + rec(SYN | ACK, opts=SYN_OPTS, win=65535) + rec(ACK | PSH, dlen=64, app=1)
    t["syn-sent-rst"] = bytes([1]) + rec(RST | ACK)
    t["est-data-ooo"] = bytes([2]) + rec(ACK | PSH, dlen=400, app=0) + rec(ACK, seq=1000, dlen=200) + \
        rec(ACK, seq=500, dlen=200) + rec(ACK, dlen=1000, app=2, k=3)
    t["est-fin"] = bytes([2]) + rec(ACK | FIN, app=3, k=2) + rec(ACK, ack=1)
    t["est-rst"] = bytes([2]) + rec(RST, seq=0)
    t["est-zero-window"] = bytes([2]) + rec(ACK, win=0, app=1) + rec(ACK, win=0, k=15) + rec(ACK, win=512, k=15)
    t["flight-acks"] = bytes([3]) + rec(ACK, ack=M) + rec(ACK, ack=2 * M, k=1) + rec(ACK, ack=8192, k=2)
    t["flight-sack"] = bytes([3]) + rec(ACK, opts=sack((M, 2 * M))) + rec(ACK, opts=sack((M, 3 * M))) + \
        rec(ACK, opts=sack((M, 4 * M), (5 * M, 8192))) + rec(ACK, ack=8192, k=5)
    t["flight-dsack"] = bytes([3]) + rec(ACK, ack=2 * M, opts=sack((0, M))) + rec(ACK, ack=8192)
    t["flight-rto"] = bytes([3]) + rec(ACK, k=15) + rec(ACK, k=15) + rec(ACK, ack=8192)
    t["fin-wait"] = bytes([4]) + rec(ACK, ack=3001) + rec(ACK | FIN, ack=3001, k=1) + rec(ACK, k=15)
    t["close-wait"] = bytes([5]) + rec(ACK, app=3, k=1) + rec(ACK, ack=1)
    return t


def configs():
    """fuzz_config: byte 0 the parser (0 faults, 1 duration, 2 rate, 3
    zero-copy policy, 4 log level, 5 address, 6 trapeze options, 7 dpdk
    options), then the string as a user types it."""
    c = {
        "faults": (0, "loss=0.01,dup=0.001,reorder=0.01,corrupt=0.0001,delay=100us,hold=2ms,seed=7,dir=both"),
        "faults-bad": (0, "loss=2,seed=x"),
        "duration": (1, "1.5ms"),
        "rate": (2, "10G"),
        "zc": (3, "auto"),
        "log": (4, "debug"),
        "ip": (5, "10.0.0.1/24"),
        "trapeze": (6, "w0,port=1,mtu=65536,frames=4096,rxhuge=8,ref=0,rate=10G,delay=100us"),
        "dpdk-memif": (7, "net_memif0,role=server,socket=/tmp/m.sock,zc_mac=02:00:00:00:00:01,zc_mtu=9000"),
        "dpdk-tap": (7, "net_tap0,iface=zc0,zc_hdr=66,zc_frames=8192"),
    }
    return {k: bytes([n]) + v.encode() for k, (n, v) in c.items()}


MAC_TB, MAC_TA = bytes([2, 0x7a, 0x63, 0, 0, 2]), bytes([2, 0x7a, 0x63, 0, 0, 1])
IP_TA = 0x0a000001
COPY, CSUM, PULL, CSUM_REQ, REF = 1, 2, 4, 8, 16


def desc(ctrl, payload_len=0, npages=0, flags=0, nsrc=0, ref=0, words=()):
    """fuzz_wire's op 1: a descriptor whose control message is ctrl."""
    return bytes([1]) + struct.pack("<IHBBIIB", payload_len, len(ctrl), npages, flags, nsrc, ref, len(words)) + \
        b"".join(struct.pack("<I", w & 0xffffffff) for w in words) + bytes([len(ctrl)]) + ctrl


def wires():
    """fuzz_wire: sequences of a hostile peer's writes (see its comment)."""
    POLL, PEER = bytes([3, 1]), bytes([4])
    arp_req = MAC_TB + MAC_TA + struct.pack(">H", 0x0806) + \
        struct.pack(">HHBBH", 1, 0x0800, 6, 4, 1) + MAC_TA + struct.pack(">I", IP_TA) + bytes(6) + \
        struct.pack(">I", IP_B)
    syn = MAC_TB + MAC_TA + struct.pack(">H", 0x0800) + \
        ip(6, tcp(40000, 80, 1000, 0, SYN, 65535, SYN_OPTS), src=IP_TA)
    send = lambda n: bytes([5]) + struct.pack("<H", n)
    w = {}
    w["arp"] = desc(arp_req) + POLL + PEER
    w["syn"] = desc(arp_req) + desc(syn) + POLL + PEER + POLL
    w["send"] = desc(arp_req) + send(100) + POLL + PEER + send(20000) + POLL + PEER + send(65000) + PEER
    w["copy-bad-pages"] = desc(syn[:54], 8192, 2, COPY, words=(99999, 5, 7, 0xffffffff))
    w["pull-bad-src"] = desc(syn[:54], 9000, 0, PULL, 2, words=[0] * 8 + [0] * 8 + [5, 100, 4000, 1 << 30, 0, 5000])
    w["pull-ref"] = desc(syn[:54], 4096, 0, PULL | REF, 1, ref=5000, words=[0] * 16 + [3, 0, 4096])
    w["head-jump"] = bytes([2]) + struct.pack("<H", 300) + POLL + desc(arp_req)
    w["poke-nframes"] = bytes([0]) + struct.pack("<HB", 20, 4) + b"\xff\xff\xff\xff" + desc(arp_req) + send(30000) + PEER
    w["ret-ids"] = desc(arp_req) + send(20000) + b"".join(bytes([6]) + struct.pack("<I", i) for i in (0, 1023, 99999)) + POLL
    w["post-bad"] = desc(arp_req) + bytes([7, 3]) + struct.pack("<III", 1 << 20, 0, 1023) + send(40000) + PEER
    w["owner-dead"] = bytes([0]) + struct.pack("<HB", 64, 4) + bytes(4) + send(100) + POLL
    return w


def main():
    out = sys.argv[1]
    for name, items in (("frame", frames()), ("tcp", tcps()), ("config", configs()), ("wire", wires())):
        os.makedirs(os.path.join(out, name), exist_ok=True)
        for k, v in items.items():
            with open(os.path.join(out, name, "seed-" + k), "wb") as fh:
                fh.write(v)


main()

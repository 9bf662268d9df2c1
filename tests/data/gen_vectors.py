#!/usr/bin/python3
"""Write the wire-format test vectors with scapy, an implementation independent of ours.

vectors.pcap / vectors.txt: well-formed frames and the fields scapy put in them.
malformed.pcap / malformed.txt: broken frames and the drop reason each must get.
Run it with Debian's python3-scapy: /usr/bin/python3 tests/data/gen_vectors.py tests/data
"""
import struct
import sys

from scapy.all import ARP, ICMP, IP, TCP, UDP, Ether, Raw, wrpcap
from scapy.utils import checksum

out = sys.argv[1] if len(sys.argv) > 1 else "."
M1, M2 = "02:00:00:00:00:01", "02:00:00:00:00:02"
A1, A2 = "10.0.0.1", "10.0.0.2"


def ip2int(a):
    return struct.unpack("!I", bytes(int(x) for x in a.split(".")))[0]


good, lines = [], []


def add(pkt, desc):
    raw = bytes(pkt)
    good.append(Ether(raw))
    lines.append(f"{len(good) - 1} {desc}")


def ipfields(p):
    ip = Ether(bytes(p))[IP]
    return (f"ihl={ip.ihl * 4} tl={ip.len} id={ip.id} ttl={ip.ttl} proto={ip.proto} "
            f"src={ip2int(ip.src)} dst={ip2int(ip.dst)} df={1 if ip.flags.DF else 0}")


def tcpfields(p):
    t = TCP(bytes(p[TCP]))
    f = (f"sport={t.sport} dport={t.dport} seq={t.seq} ack={t.ack} hl={t.dataofs * 4} "
         f"flags={int(t.flags)} win={t.window}")
    for name, val in t.options:
        if name == "MSS":
            f += f" mss={val}"
        elif name == "WScale":
            f += f" ws={min(val, 14)}"
        elif name == "SAckOK":
            f += " sackok=1"
        elif name == "Timestamp":
            f += f" tsval={val[0]} tsecr={val[1]}"
        elif name == "SAck":
            f += f" nsack={len(val) // 2}"
            for i in range(0, len(val), 2):
                f += f" sack{i // 2}={val[i]}:{val[i + 1]}"
    return f


e = Ether(src=M1, dst="ff:ff:ff:ff:ff:ff")
p = e / ARP(op=1, hwsrc=M1, psrc=A1, pdst=A2)
add(p, f"arp op=1 spa={ip2int(A1)} tpa={ip2int(A2)} sha={M1}")
p = Ether(src=M2, dst=M1) / ARP(op=2, hwsrc=M2, psrc=A2, hwdst=M1, pdst=A1)
add(p, f"arp op=2 spa={ip2int(A2)} tpa={ip2int(A1)} sha={M2}")
p = Ether(src=M1, dst=M2) / IP(src=A1, dst=A2, id=77, flags="DF") / ICMP(type=8, id=0x1234, seq=9) / Raw(b"ping" * 14)
add(p, f"icmp type=8 code=0 icmp_id={0x1234} icmp_seq=9 {ipfields(p)}")
p = Ether(src=M1, dst=M2) / IP(src=A1, dst=A2, ttl=5) / UDP(sport=5353, dport=9999) / Raw(b"hello, world")
add(p, f"udp sport=5353 dport=9999 ulen=20 csum=1 {ipfields(p)}")
p = Ether(src=M1, dst=M2) / IP(src=A1, dst=A2) / UDP(sport=1, dport=2, chksum=0) / Raw(b"x" * 33)
add(p, f"udp sport=1 dport=2 ulen=41 csum=0 {ipfields(p)}")
p = Ether(src=M1, dst=M2) / IP(src=A1, dst=A2, flags="DF") / TCP(
    sport=40000, dport=80, seq=0xfffffff0, flags="S", window=65535,
    options=[("MSS", 8960), ("SAckOK", b""), ("Timestamp", (123456, 0)), ("NOP", None), ("WScale", 7)])
add(p, f"tcp {tcpfields(p)} {ipfields(p)}")
p = Ether(src=M2, dst=M1) / IP(src=A2, dst=A1) / TCP(
    sport=80, dport=40000, seq=1000, ack=2000, flags="A", window=501,
    options=[("NOP", None), ("NOP", None), ("Timestamp", (99, 98)), ("NOP", None), ("NOP", None),
             ("SAck", (3000, 4000, 5000, 6000))]) / Raw(b"d" * 100)
add(p, f"tcp {tcpfields(p)} {ipfields(p)}")
p = Ether(src=M1, dst=M2) / IP(src=A1, dst=A2, options=b"\x94\x04\x00\x00\x01\x00\x00\x00") / UDP(sport=7, dport=7) / Raw(b"opt")
add(p, f"udp sport=7 dport=7 ulen=11 csum=1 {ipfields(p)}")
p = Ether(src=M1, dst=M2) / IP(src=A1, dst=A2) / TCP(
    sport=1, dport=2, flags="SA", options=[(30, b"\x01\x02"), ("WScale", 15), ("NOP", None)])
add(p, f"tcp {tcpfields(p)} {ipfields(p)}")
p = Ether(src=M1, dst=M2) / IP(src=A1, dst=A2) / TCP(sport=5, dport=6, flags="PA", seq=1, ack=1) / Raw(b"z" * 1001)
add(p, f"tcp {tcpfields(p)} {ipfields(p)}")

wrpcap(f"{out}/vectors.pcap", good)
with open(f"{out}/vectors.txt", "w") as f:
    f.write("# index proto key=value... (written by gen_vectors.py from scapy's own fields)\n")
    f.write("\n".join(lines) + "\n")

# --- malformed ---------------------------------------------------------------
bad, reasons = [], []


def addbad(raw, reason, note):
    bad.append(Ether(raw) if len(raw) >= 14 else Raw(raw))
    reasons.append(f"{len(bad) - 1} {reason} # {note}")


def fix_ip_csum(b):
    b = bytearray(b)
    ihl = (b[14] & 0xF) * 4
    b[24:26] = b"\0\0"
    b[24:26] = struct.pack("!H", checksum(bytes(b[14:14 + ihl])))
    return bytes(b)


def fix_l4_csum(b, off_csum):
    """Recompute the TCP/UDP checksum (scapy's checksum over pseudo header + segment)."""
    b = bytearray(b)
    ihl = (b[14] & 0xF) * 4
    tl = struct.unpack("!H", b[16:18])[0]
    seg = bytearray(b[14 + ihl:14 + tl])
    seg[off_csum:off_csum + 2] = b"\0\0"
    ph = bytes(b[26:34]) + struct.pack("!BBH", 0, b[23], len(seg))
    c = checksum(ph + bytes(seg))
    seg[off_csum:off_csum + 2] = struct.pack("!H", c)
    b[14 + ihl:14 + tl] = seg
    return bytes(b)


eth = Ether(src=M1, dst=M2)
udp = bytes(eth / IP(src=A1, dst=A2) / UDP(sport=1, dport=2) / Raw(b"payload!"))
tcp = bytes(eth / IP(src=A1, dst=A2) / TCP(sport=1, dport=2, options=[("MSS", 1460)]) / Raw(b"data"))
icmp = bytes(eth / IP(src=A1, dst=A2) / ICMP() / Raw(b"abcd"))
arp = bytes(Ether(src=M1, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=M1, psrc=A1, pdst=A2))

addbad(arp[:10], "eth_short", "10-byte frame")
addbad(arp[:14 + 20], "arp_short", "ARP body of 20 bytes")
addbad(arp[:14] + b"\x00\x06" + arp[16:], "arp_bad_format", "hardware type 6")
addbad(arp[:20] + b"\x00\x03" + arp[22:], "arp_bad_op", "operation 3")
addbad(udp[:14 + 12], "ip_short", "IP header cut at 12 bytes")
addbad(udp[:14] + bytes([0x65]) + udp[15:], "ip_bad_version", "version 6 in an IPv4 frame")
addbad(fix_ip_csum(udp[:14] + bytes([0x44]) + udp[15:]), "ip_ihl_too_small", "IHL 4")
addbad(udp[:14] + bytes([0x4F]) + udp[15:14 + 40], "ip_ihl_past_frame", "IHL 15, 40 bytes present")
addbad(fix_ip_csum(udp[:16] + struct.pack("!H", 10) + udp[18:]), "ip_totlen_too_small", "total length 10")
addbad(fix_ip_csum(udp[:16] + struct.pack("!H", 1000) + udp[18:]), "ip_totlen_past_frame", "total length 1000")
addbad(udp[:24] + b"\xde\xad" + udp[26:], "ip_bad_checksum", "header checksum 0xdead")
ipopt = bytes(eth / IP(src=A1, dst=A2, options=b"\x01\x01\x01\x01") / UDP(sport=1, dport=2) / Raw(b"x"))
addbad(fix_ip_csum(ipopt[:34] + b"\x01\x07\x00\x00" + ipopt[38:]), "ip_bad_option", "option length 0")
addbad(fix_ip_csum(ipopt[:34] + b"\x07\x09\x00\x00" + ipopt[38:]), "ip_bad_option", "option past IHL")
frag = bytes(eth / IP(src=A1, dst=A2, flags="MF") / UDP(sport=1, dport=2) / Raw(b"frag"))
addbad(frag, "ip_bad_fragment", "more fragments follow a 12-byte fragment")
frag2 = bytes(eth / IP(src=A1, dst=A2, frag=8190) / Raw(b"tail of a fragment"))
addbad(frag2, "ip_bad_fragment", "fragment offset 65520: past 65535 bytes")
ic = bytes(eth / IP(src=A1, dst=A2, len=24, proto=1) / Raw(b"\x08\x00\x00\x00"))
addbad(ic, "icmp_short", "4-byte ICMP message")
addbad(icmp[:36] + b"\xbe\xef" + icmp[38:], "icmp_bad_checksum", "checksum 0xbeef")
us = bytes(eth / IP(src=A1, dst=A2, len=24, proto=17) / Raw(b"\x00\x01\x00\x02"))
addbad(us, "udp_short", "4-byte UDP segment")
addbad(udp[:38] + struct.pack("!H", 4) + udp[40:], "udp_bad_length", "UDP length 4")
addbad(udp[:38] + struct.pack("!H", 200) + udp[40:], "udp_bad_length", "UDP length past the IP payload")
addbad(udp[:40] + b"\x12\x34" + udp[42:], "udp_bad_checksum", "checksum 0x1234")
ts = bytes(eth / IP(src=A1, dst=A2, len=30, proto=6) / Raw(b"\x00\x01\x00\x02\x00\x00\x00\x00\x00\x00"))
addbad(ts, "tcp_short", "10-byte TCP segment")
addbad(fix_l4_csum(tcp[:46] + bytes([0x40]) + tcp[47:], 16), "tcp_doff_too_small", "data offset 4")
addbad(fix_l4_csum(tcp[:46] + bytes([0xF0]) + tcp[47:], 16), "tcp_doff_past_segment", "data offset 15, 28-byte segment")
addbad(fix_l4_csum(tcp[:54] + b"\x02\x00\x05\xb4" + tcp[58:], 16), "tcp_option_len_0_or_1", "MSS option length 0")
addbad(fix_l4_csum(tcp[:54] + b"\x01\x01\x08\x0a" + tcp[58:], 16), "tcp_option_past_header", "timestamps option past the header")
addbad(fix_l4_csum(tcp[:54] + b"\x02\x03\x05\x01" + tcp[58:], 16), "tcp_option_bad_size", "MSS option length 3")
addbad(fix_l4_csum(tcp[:54] + b"\x05\x03\x00\x01" + tcp[58:], 16), "tcp_option_bad_size", "SACK option length 3")
addbad(tcp[:50] + b"\x77\x77" + tcp[52:], "tcp_bad_checksum", "checksum 0x7777")

wrpcap(f"{out}/malformed.pcap", bad)
with open(f"{out}/malformed.txt", "w") as f:
    f.write("# index expected-drop-reason # what is wrong (written by gen_vectors.py)\n")
    f.write("\n".join(reasons) + "\n")
print(f"{len(good)} vectors, {len(bad)} malformed frames written to {out}")

#!/usr/bin/python3
"""Write hostile.pcap: hostile and malformed frames aimed at a stack at 10.8.0.2
(MAC 02:00:00:00:08:02), made with scapy, plus a few good ones it must answer.

hostile.txt lists what a replay must show: "drop.NAME N" lines are exact
counts of the stack's drop counters, "answer.NAME N" lines exact counts of
frames the stack sends back (checked in the transmit capture by tshark),
"answer_max.NAME N" upper bounds for rate-limited answers.
Run with Debian's python3-scapy: /usr/bin/python3 tests/data/gen_hostile.py tests/data
"""
import struct
import sys
from collections import Counter

from scapy.all import ARP, ICMP, IP, TCP, UDP, Ether, Raw, wrpcap

out = sys.argv[1] if len(sys.argv) > 1 else "."
ME, PEER, OTHER = "02:00:00:00:08:02", "02:00:00:00:08:01", "02:00:00:00:08:77"
BCAST = "ff:ff:ff:ff:ff:ff"
A_ME, A_PEER = "10.8.0.2", "10.8.0.1"

frames, drops, answers, answer_max = [], Counter(), Counter(), {}


def add(pkt, drop=None, n=1):
    raw = bytes(pkt)
    for _ in range(n):
        frames.append(Ether(raw) if len(raw) >= 14 else Raw(raw))  # Raw: the 10-byte runt
    if drop:
        drops[drop] += n


def ip_csum(b):
    """Recompute the IPv4 header checksum of an Ethernet frame's bytes."""
    b = bytearray(b)
    ihl = (b[14] & 15) * 4
    b[24:26] = b"\0\0"
    s = 0
    hdr = bytes(b[14:14 + ihl]) + (b"\0" if ihl % 2 else b"")
    for i in range(0, len(hdr), 2):
        s += (hdr[i] << 8) | hdr[i + 1]
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    b[24:26] = struct.pack("!H", ~s & 0xffff)
    return bytes(b)


e = Ether(src=PEER, dst=ME)
ip = IP(src=A_PEER, dst=A_ME)

# --- the good ones, first: the ARP exchange the kernel would do, a ping, a
# datagram to the echo port ---
add(Ether(src=PEER, dst=BCAST) / ARP(op=1, hwsrc=PEER, psrc=A_PEER, pdst=A_ME))
answers["arp_reply"] += 1
add(e / ip / ICMP(type=8, id=7, seq=1) / Raw(b"p" * 56))
answers["echo_reply"] += 1
add(e / ip / UDP(sport=40000, dport=7777) / Raw(b"hello, stack"))
answers["udp_echo"] += 1

# --- malformed at each layer ---
arp = bytes(Ether(src=PEER, dst=BCAST) / ARP(op=1, hwsrc=PEER, psrc=A_PEER, pdst=A_ME))
udp = bytes(e / ip / UDP(sport=40000, dport=7777) / Raw(b"x" * 20))
icmp = bytes(e / ip / ICMP(type=8, id=7, seq=2) / Raw(b"y" * 20))
tcp = bytes(e / ip / TCP(sport=40000, dport=80, flags="S", options=[("MSS", 1460), ("NOP", None), ("NOP", None), ("SAckOK", b"")]))
add(Raw(arp[:10]), "eth_short")
add(Raw(arp[:14 + 20]), "arp_short")
add(Raw(arp[:14] + b"\x00\x06" + arp[16:]), "arp_bad_format")
add(Raw(arp[:20] + b"\x00\x05" + arp[22:]), "arp_bad_op")
add(Raw(udp[:14 + 12]), "ip_short")
add(Raw(udp[:14] + bytes([0x65]) + udp[15:]), "ip_bad_version")
add(Raw(ip_csum(udp[:14] + bytes([0x43]) + udp[15:])), "ip_ihl_too_small")
add(Raw(udp[:14] + bytes([0x4F]) + udp[15:14 + 40]), "ip_ihl_past_frame")
add(Raw(ip_csum(udp[:16] + struct.pack("!H", 10) + udp[18:])), "ip_totlen_too_small")
add(Raw(ip_csum(udp[:16] + struct.pack("!H", 1400) + udp[18:])), "ip_totlen_past_frame")
add(Raw(udp[:24] + b"\xde\xad" + udp[26:]), "ip_bad_checksum")
ipopt = bytes(e / IP(src=A_PEER, dst=A_ME, options=[b"\x01\x01\x01\x01"]) / UDP(sport=1, dport=7777))
add(Raw(ip_csum(ipopt[:34] + b"\x01\x07\x00\x00" + ipopt[38:])), "ip_bad_option")
# fragments: not a multiple of 8 before the last; past 65535 bytes; two that
# overlap (the second discards both, RFC 5722)
add(e / IP(src=A_PEER, dst=A_ME, flags="MF") / UDP(sport=1, dport=7777) / Raw(b"z" * 52), "ip_bad_fragment")
add(e / IP(src=A_PEER, dst=A_ME, frag=8190) / Raw(b"z" * 64), "ip_bad_fragment")
add(e / IP(src=A_PEER, dst=A_ME, id=0x4242, flags="MF", proto=17) / Raw(b"o" * 64))
add(e / IP(src=A_PEER, dst=A_ME, id=0x4242, flags="MF", frag=4, proto=17) / Raw(b"o" * 64), "ip_frag_overlap")
drops["ip_frag_overlap"] += 1
# a ping in two fragments, the second first: reassembled and answered
ping = bytes(ICMP(type=8, id=9, seq=3) / Raw(b"f" * 200))
add(e / IP(src=A_PEER, dst=A_ME, id=0x4343, frag=13, proto=1) / Raw(ping[104:]))
add(e / IP(src=A_PEER, dst=A_ME, id=0x4343, flags="MF", proto=1) / Raw(ping[:104]))
answers["echo_reply"] += 1
add(Ether(bytes(e / IP(src=A_PEER, dst=A_ME, proto=1) / Raw(b"\x08\x00\xf7\xff"))), "icmp_short")
add(Raw(icmp[:36] + b"\xbe\xef" + icmp[38:]), "icmp_bad_checksum")
add(Ether(bytes(e / IP(src=A_PEER, dst=A_ME, proto=17) / Raw(b"\x00\x01\x00\x02"))), "udp_short")
add(Raw(udp[:38] + struct.pack("!H", 4) + udp[40:]), "udp_bad_length")
add(Raw(udp[:38] + struct.pack("!H", 200) + udp[40:]), "udp_bad_length")
add(Raw(udp[:40] + b"\x12\x34" + udp[42:]), "udp_bad_checksum")
add(Ether(bytes(e / IP(src=A_PEER, dst=A_ME, proto=6) / Raw(b"\x00" * 10))), "tcp_short")
add(Raw(tcp[:46] + bytes([0x40]) + tcp[47:]), "tcp_doff_too_small")
add(Raw(tcp[:54] + b"\x02\x00" + tcp[56:]), "tcp_option_len_0_or_1")
add(Raw(tcp[:50] + b"\x77\x77" + tcp[52:]), "tcp_bad_checksum")
add(Raw(tcp[:54] + b"\x02\x03" + tcp[56:]), "tcp_option_bad_size")
# (the option and offset errors are found before the checksum is checked,
# so those segments keep the checksum scapy computed before the mangling)
# a well-formed SYN to a port nobody listens on: counted, answered by a RST
add(e / ip / TCP(sport=40001, dport=80, flags="S"), "tcp_no_socket")
answers["tcp_rst"] += 1

# --- well-formed but not for us, or not acceptable ---
add(Ether(src=PEER, dst=ME) / Raw(b"\x00" * 9000), "eth_oversize")  # jumbo past the MTU
add(Ether(src=PEER, dst=OTHER) / ip / ICMP(type=8) / Raw(b"q" * 8), "eth_not_for_us")
add(Ether(src="01:00:5e:00:00:01", dst=ME) / ip / ICMP(type=8) / Raw(b"q" * 8), "eth_bad_source")
add(Ether(src=PEER, dst=ME, type=0x86DD) / Raw(b"\x60" + b"\x00" * 47), "eth_unknown_type")
add(Ether(src=PEER, dst=BCAST) / ARP(op=1, hwsrc=PEER, psrc="192.168.1.1", pdst=A_ME), "arp_other_subnet")
add(Ether(src=PEER, dst=BCAST) / ARP(op=1, hwsrc=PEER, psrc=A_PEER, pdst="10.8.0.9"), "arp_not_for_us")
add(Ether(src=OTHER, dst=BCAST) / ARP(op=2, hwsrc=OTHER, psrc=A_ME, pdst=A_ME), "arp_bad_sender")
add(Ether(src=PEER, dst=BCAST) / ARP(op=1, hwsrc="01:02:03:04:05:06", psrc=A_PEER, pdst=A_ME), "arp_bad_sender")
add(e / IP(src=A_PEER, dst="10.8.0.9") / ICMP(type=8) / Raw(b"q" * 8), "ip_not_for_us")
add(e / IP(src="127.0.0.1", dst=A_ME) / ICMP(type=8) / Raw(b"q" * 8), "ip_bad_source")
add(e / IP(src="10.8.0.255", dst=A_ME) / ICMP(type=8) / Raw(b"q" * 8), "ip_bad_source")
add(e / IP(src=A_PEER, dst=A_ME, proto=99) / Raw(b"r" * 16), "ip_unknown_protocol")
answers["icmp_proto_unreach"] += 1
add(e / ip / ICMP(type=13) / Raw(b"\x00" * 12), "icmp_ignored_type")
add(Ether(src=PEER, dst=BCAST) / IP(src=A_PEER, dst="10.8.0.255") / ICMP(type=8) / Raw(b"s" * 8), "icmp_broadcast_echo")
add(e / ip / UDP(sport=40000, dport=9) / Raw(b"closed"), "udp_no_port")
answers["icmp_port_unreach"] += 1

# --- storms: broadcast ARP for other hosts, broadcast UDP to a closed port
# (never answered), unicast UDP to a closed port (answered up to the ICMP
# rate limit: a burst of 50 less the two errors above, plus what refills
# during the replay; the replay runs the stack at 1 error per second) ---
add(Ether(src=PEER, dst=BCAST) / ARP(op=1, hwsrc=PEER, psrc=A_PEER, pdst="10.8.0.50"), "arp_not_for_us", n=1000)
add(Ether(src=PEER, dst=BCAST) / IP(src=A_PEER, dst="255.255.255.255") / UDP(sport=68, dport=9) / Raw(b"b" * 32), "udp_no_port", n=500)
add(e / ip / UDP(sport=40000, dport=9) / Raw(b"closed"), "udp_no_port", n=300)
answer_max["icmp_port_unreach"] = 1 + 48 + 2  # at most 2 s of refill at 1/s
drops_rate_min = 300 - 48 - 2

wrpcap(f"{out}/hostile.pcap", frames, linktype=1)  # DLT_EN10MB, runt included
with open(f"{out}/hostile.txt", "w") as f:
    f.write(f"# {len(frames)} frames; written by gen_hostile.py\n")
    f.write(f"frames {len(frames)}\n")
    for k in sorted(drops):
        f.write(f"drop.{k} {drops[k]}\n")
    for k in sorted(answers):
        if k in answer_max:
            continue
        f.write(f"answer.{k} {answers[k]}\n")
    for k, v in answer_max.items():
        f.write(f"answer_min.{k} {answers[k] + 48}\n")
        f.write(f"answer_max.{k} {v}\n")
    f.write(f"rate_limited_min {drops_rate_min}\n")
print(f"{len(frames)} frames written to {out}/hostile.pcap")

"""Which IP addresses are public: the one judge the outbound guard (runtime/integrations/http.py) asks.

Written out here from IANA's special-purpose address registries rather than left to `ipaddress.is_global`,
whose lists change between Python releases and which does not look inside IPv6 addresses that carry an
IPv4 address. An address is public only when it is globally routable unicast:
- IPv4: none of the special-purpose blocks below (loopback, private, shared, link-local with the cloud
  metadata service, documentation, benchmarking, the 6to4 relay anycast 192.88.99.0/24, multicast,
  reserved);
- IPv6: inside global unicast 2000::/3 and none of its special blocks (Teredo and the other IETF
  assignments 2001::/23, documentation, 6to4 unless what it embeds is public, ...), or a NAT64 address of
  the well-known prefix 64:ff9b::/96 whose IPv4 address is public. An IPv4-mapped address (::ffff:a.b.c.d)
  is judged as the IPv4 address it is. Everything else (IPv4-compatible ::a.b.c.d, IPv4-translated
  ::ffff:0:a.b.c.d, local-use NAT64 64:ff9b:1::/48, unique-local, link-local, site-local fec0::/10,
  multicast) is refused.
"""

from __future__ import annotations

import ipaddress

IPv4 = ipaddress.IPv4Address
IPv6 = ipaddress.IPv6Address


def _nets(*text: str) -> tuple:
    return tuple(ipaddress.ip_network(t) for t in text)


# (kind in words, networks): the first that holds an address names why it is refused.
IPV4_SPECIAL = (
    ("a loopback", _nets("127.0.0.0/8")),
    ("a link-local (cloud metadata)", _nets("169.254.0.0/16")),
    ("a private", _nets("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")),
    ("a shared (carrier-grade NAT)", _nets("100.64.0.0/10")),
    ("a multicast", _nets("224.0.0.0/4")),
    ("a non-public", _nets("0.0.0.0/8", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "198.18.0.0/15",
                           "198.51.100.0/24", "203.0.113.0/24", "240.0.0.0/4")),
)
IPV6_SPECIAL = (
    ("a loopback", _nets("::1/128")),
    ("an unspecified", _nets("::/128")),
    ("a link-local", _nets("fe80::/10")),
    ("a private (unique-local)", _nets("fc00::/7")),
    ("a site-local", _nets("fec0::/10")),
    ("a multicast", _nets("ff00::/8")),
    ("an IPv4-compatible", _nets("::/96")),
    ("an IPv4-translated", _nets("::ffff:0:0:0/96")),
    ("a local-use NAT64", _nets("64:ff9b:1::/48")),
    ("a Teredo or other IETF-reserved", _nets("2001::/23")),
    ("a documentation", _nets("2001:db8::/32", "3fff::/20")),
    ("a segment-routing", _nets("5f00::/16")),
    ("a discard-only", _nets("100::/64")),
)
GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
NAT64 = ipaddress.ip_network("64:ff9b::/96")
SIX_TO_FOUR = ipaddress.ip_network("2002::/16")


def embedded_ipv4(ip: IPv4 | IPv6) -> IPv4 | None:
    """The IPv4 address an IPv6 address carries and that a connection to it would end up at: IPv4-mapped
    (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::a.b.c.d) and 6to4 (2002:AABB:CCDD::)."""
    if not isinstance(ip, IPv6):
        return None
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip in NAT64 or ip in IPV4_COMPATIBLE:
        return IPv4(int(ip) & 0xFFFFFFFF)
    if ip in SIX_TO_FOUR:
        return ip.sixtofour
    return None


def non_public(ip: IPv4 | IPv6) -> str | None:
    """Why `ip` is not a public address, in words ("a loopback", ...), or None when it is public."""
    if isinstance(ip, IPv4):
        return next((kind for kind, nets in IPV4_SPECIAL if any(ip in n for n in nets)), None)
    if ip.ipv4_mapped:
        return non_public(ip.ipv4_mapped)
    kind = next((kind for kind, nets in IPV6_SPECIAL if any(ip in n for n in nets)), None)
    if kind:
        inner = embedded_ipv4(ip)
        inside = non_public(inner) if inner is not None else None
        return f"{kind} address carrying {inside}" if inside and kind.startswith("an IPv4") else kind
    inner = embedded_ipv4(ip)
    if inner is not None:  # NAT64 and 6to4 reach the IPv4 address they carry: judge that one
        inside = non_public(inner)
        return f"{'a NAT64' if ip in NAT64 else 'a 6to4'} address carrying {inside}" if inside else None
    if ip not in GLOBAL_UNICAST:
        return "a reserved (not global unicast)"
    return None

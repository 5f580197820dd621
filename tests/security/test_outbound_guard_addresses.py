"""Hole 10 of issue 15: the outbound guard refuses every address that is not globally routable, IPv6
addresses that carry an IPv4 address among them (the IPv4 address they carry is judged too), directly and
through the app's own guarded session (the one integration steps, webhooks, dataset pulls and SMS use),
while OUTBOUND_ALLOW_HOSTS still lets an operator through."""

from __future__ import annotations

import socket

import pytest

from runtime import integrations
from runtime.integrations.errors import Refused
from runtime.integrations.http import Guard

REFUSED = [
    "::127.0.0.1", "::169.254.169.254", "::10.0.0.5", "::8.8.8.8",  # IPv4-compatible (deprecated)
    "::ffff:127.0.0.1", "::ffff:169.254.169.254",  # IPv4-mapped, judged as the IPv4 address
    "::ffff:0:7f00:1", "::ffff:0:a9fe:a9fe",  # IPv4-translated ::ffff:0:0:0/96
    "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "64:ff9b::a00:5",  # NAT64 well-known prefix, inner not public
    "64:ff9b:1::1", "64:ff9b:1::808:808",  # local-use NAT64 64:ff9b:1::/48
    "2002:7f00:1::1", "2002:a9fe:a9fe::1", "2002:c0a8:101::1",  # 6to4 of loopback, metadata, 192.168.1.1
    "2001::1", "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo 2001::/32
    "192.88.99.1", "192.88.99.254",  # 6to4 relay anycast
    "fec0::1", "fed0::5",  # site-local fec0::/10
    "::", "::1", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "100::1", "2001:db8::1",
    "127.0.0.1", "10.0.0.5", "169.254.169.254", "100.64.0.1", "192.0.0.8", "198.18.0.1", "224.0.0.1",
    "240.0.0.1", "255.255.255.255", "0.0.0.0",
]
PUBLIC = ["8.8.8.8", "2606:4700:4700::1111", "64:ff9b::808:808", "2002:808:808::1", "::ffff:8.8.8.8"]


def resolving_to(address: str):
    """A DNS answer naming `address` for any host (no DNS server in tests)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    return lambda host, port, *args: [(family, socket.SOCK_STREAM, 6, "",
                                       (address, port, 0, 0) if family == socket.AF_INET6 else (address, port))]


@pytest.mark.parametrize("address", REFUSED)
def test_the_guard_refuses_an_address_that_is_not_globally_routable(address):
    reason = Guard().refusal("evil.example", address)
    assert reason and "address. Outside systems must be on public addresses" in reason
    assert "OUTBOUND_ALLOW_HOSTS" in reason
    with pytest.raises(Refused, match="Refused to connect to evil.example"):
        Guard(resolve=resolving_to(address)).check_url("https://evil.example/hook")


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address):
    assert Guard().refusal("api.example", address) is None


@pytest.mark.parametrize("address", ["::127.0.0.1", "::169.254.169.254", "64:ff9b::7f00:1", "64:ff9b:1::1",
                                     "2002:7f00:1::1", "2001::1", "::ffff:0:7f00:1", "fec0::1"])
def test_the_apps_outbound_session_refuses_it_before_connecting(app, address):
    app.config["INTEGRATIONS_RESOLVER"] = resolving_to(address)
    session = integrations.Integrations(app).services.http  # built as the app builds its own
    with pytest.raises(Refused, match=r"Refused to connect to metadata\.example \(.*\): .* address"):
        session.request("GET", "http://metadata.example/latest/meta-data/", timeout=1)
    with pytest.raises(Refused, match="Refused to connect"):  # a literal address needs no DNS at all
        integrations.get(app).services.http.request("GET", f"http://[{address}]:9/", timeout=1)


def test_the_allow_list_still_lets_an_operator_through():
    assert Guard.from_setting("crm.internal").refusal("crm.internal", "::127.0.0.1") is None
    assert Guard.from_setting("127.0.0.1").refusal("h", "::ffff:127.0.0.1") is None
    assert Guard.from_setting("fec0::/10").refusal("h", "fec0::1") is None
    assert Guard.from_setting("64:ff9b::/96").refusal("h", "64:ff9b::7f00:1") is None
    assert Guard.from_setting("127.0.0.1").refusal("h", "::127.0.0.1") is not None  # not the same address

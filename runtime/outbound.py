"""Outbound HTTP for background work (webhook deliveries, dataset pulls): no redirects, no private addresses.

STOP-GAP for the lead: DESIGN §7 and STYLE pattern 8 want one guarded session for every outbound call,
which the integrations work builds in `runtime/integrations/http.py`; switch `request` below to it when
it lands and delete this module. Until then: the host's every address must be public unless the operator
allow-lists it (`ARBOR_OUTBOUND_ALLOW`, comma-separated addresses or networks, e.g. `127.0.0.1` for tests),
redirects are never followed, and the whole exchange (not just each socket read) has a deadline.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests
from flask import current_app


class Refused(Exception):
    """The address may not be called; the message says why, for the person who configured it."""


@dataclass
class Answer:
    status: int | None = None
    headers: dict = field(default_factory=dict)
    body: bytes = b""
    error: str | None = None  # a network error, a timeout, a refused address, a body too large


def check_url(url: str) -> None:
    """Raise Refused unless `url` is http(s) to a host whose every address is public or allow-listed."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Refused(f"{url[:200]!r} is not an http(s) address.")
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    except (socket.gaierror, UnicodeError) as e:
        raise Refused(f"The host {parts.hostname!r} could not be found ({e}).") from None
    allowed = _allowed()
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if not address.is_global and not any(address in network for network in allowed):
            raise Refused(f"{parts.hostname} is a private, loopback or reserved address ({address}); "
                          "Arbor only calls public addresses.")


def request(method: str, url: str, *, timeout: float, max_bytes: int = 1 << 20, **kwargs) -> Answer:
    """One request, never raising: a refused address or a network error comes back in `Answer.error`.

    The body is read up to `max_bytes` and the whole exchange must end within `timeout` seconds.
    """
    deadline = time.monotonic() + timeout
    try:
        check_url(url)
        with requests.request(method, url, timeout=timeout, allow_redirects=False, stream=True, **kwargs) as r:
            body = bytearray()
            for chunk in r.iter_content(64 * 1024):
                body += chunk
                if len(body) > max_bytes:
                    return Answer(r.status_code, dict(r.headers), bytes(body[:max_bytes]),
                                  f"The answer is larger than {max_bytes:,} bytes.")
                if time.monotonic() > deadline:
                    return Answer(error=f"No complete answer within {timeout:g} s.")
            return Answer(r.status_code, dict(r.headers), bytes(body))
    except Refused as e:
        return Answer(error=str(e))
    except requests.Timeout:
        return Answer(error=f"No answer within {timeout:g} s.")
    except requests.RequestException as e:
        return Answer(error=f"Could not connect: {type(e).__name__}: {str(e)[:300]}")


def _allowed() -> list:
    raw = current_app.config.get("ARBOR_OUTBOUND_ALLOW") or ""
    items = raw if isinstance(raw, list | tuple) else raw.split(",")
    return [ipaddress.ip_network(item.strip(), strict=False) for item in items if item.strip()]

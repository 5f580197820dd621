"""Redaction: what the integration log and the Python log may show of a call.

Auth headers are blanked whatever their value; every secret value (bot secrets, fetched OAuth tokens,
a user's token, Basic credentials) is replaced wherever it appears (URL, headers, bodies), also in its
URL-encoded and Base64 forms, so a key sent in a query string or echoed back by a server is caught too.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "[redacted]"
AUTH_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "api-key"})
MIN_SECRET = 4  # shorter values would blank ordinary words; no real credential is that short


class Redactor:
    def __init__(self, secrets: list[str] | None = None, headers: list[str] | None = None, mask: str = MASK):
        self.forms: list[str] = []
        self.mask = mask
        self.headers = set(AUTH_HEADERS) | {h.lower() for h in headers or ()}
        for secret in secrets or ():
            self.add(secret)

    def add(self, secret: str | None) -> None:
        """Also hide this value (a token fetched during the call)."""
        if not secret or len(secret) < MIN_SECRET:
            return
        encoded = base64.b64encode(secret.encode()).decode().rstrip("=")
        for form in (secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1], encoded):
            if form not in self.forms:
                self.forms.append(form)
        self.forms.sort(key=len, reverse=True)

    def hide_header(self, name: str) -> None:
        self.headers.add(name.lower())

    def text(self, value: Any) -> str | None:
        """A value as text with every secret replaced (JSON for structures)."""
        if value is None:
            return None
        if isinstance(value, bytes):
            value = value.decode("utf-8", errors="replace")
        elif not isinstance(value, str):
            value = json.dumps(value, ensure_ascii=False, default=str)
        for form in self.forms:
            value = value.replace(form, self.mask)
        return value

    def header_map(self, headers: dict | None) -> dict:
        return {name: self.mask if name.lower() in self.headers else self.text(str(value))
                for name, value in (headers or {}).items()}

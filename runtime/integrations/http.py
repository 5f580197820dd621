"""The one guarded HTTP session of every outbound call (integration steps, outgoing webhooks, dataset pulls,
SMS): the only module that imports requests for them.

Bots are written by customers, so a URL in a bot must not reach into our own network: every connection
is checked after DNS resolution, address by address, and made to the checked address itself (no second
lookup a rebinding DNS could answer differently). Loopback, private, link-local (cloud metadata at
169.254.169.254 among them), shared and reserved addresses are refused unless the operator allow-lists
the host or network (`OUTBOUND_ALLOW_HOSTS`). Redirects are followed here, one hop at a time, each hop
checked again (or not at all, for callers that must not follow them). Connections are pooled; only
idempotent methods are retried; a response larger than the limit or slower than the deadline is cut off.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import IO, Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util.retry import Retry

from runtime.integrations import addresses
from runtime.integrations.errors import IntegrationError, Refused, TimedOut, TooBig

MAX_REDIRECTS = 5
CONNECT_TIMEOUT = 3.0
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[..., list]


@dataclass(frozen=True)
class Guard:
    """Which addresses outbound calls may reach: public ones, plus what the operator allow-listed."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[Network, ...] = ()
    resolve: Resolver = socket.getaddrinfo

    @classmethod
    def from_setting(cls, setting: str | Iterable[str] | None, resolve: Resolver = socket.getaddrinfo) -> Guard:
        """`OUTBOUND_ALLOW_HOSTS`: host names and networks (`crm.internal`, `10.1.0.0/16`, `127.0.0.1`)."""
        entries = setting.replace(",", " ").split() if isinstance(setting, str) else list(setting or ())
        hosts, networks = set(), []
        for entry in entries:
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                hosts.add(entry.lower().rstrip("."))
        return cls(frozenset(hosts), tuple(networks), resolve)

    def refusal(self, host: str, address: str) -> str | None:
        """Why `host` may not be reached at `address`, or None when it may."""
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        kind = addresses.non_public(ip)
        if kind is None:
            return None
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
            ip = ip.ipv4_mapped  # what the operator allow-listed as 127.0.0.1 is ::ffff:127.0.0.1 too
        if host.lower().rstrip(".") in self.hosts or any(ip in network for network in self.networks):
            return None
        shown = host if host.strip("[]") == str(ip) else f"{host} ({ip})"
        return (f"Refused to connect to {shown}: {kind} address. Outside systems must be on public addresses; "
                f"an operator can allow this one with OUTBOUND_ALLOW_HOSTS.")

    def check_url(self, url: str) -> None:
        """Refused unless `url` is http(s) to a host with an allowed address: the early check of a saved address."""
        _check_scheme(url)
        parts = urlsplit(url)
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
            found = self.resolve(parts.hostname or "", port, 0, socket.SOCK_STREAM) if parts.hostname else []
        except (socket.gaierror, UnicodeError, ValueError) as e:
            raise Refused(f"The host of {url[:200]!r} could not be resolved ({e}).") from None
        reasons = [self.refusal(parts.hostname, info[4][0]) for info in found]
        if not found or all(reasons):
            raise Refused(reasons[0] if reasons else f"{url[:200]!r} names no host.")

    def connect(self, host: str, port: int, timeout: float | None, **options: Any) -> socket.socket:
        """A socket to the first allowed address of `host`; Refused if every address is refused."""
        try:
            found = self.resolve(host, port, 0, socket.SOCK_STREAM)
        except socket.gaierror as e:
            raise IntegrationError(f"The host name {host} could not be resolved ({e.strerror}).") from None
        reasons, error = [], None
        for family, kind, proto, _, address in found:
            reason = self.refusal(host, address[0])
            if reason:
                reasons.append(reason)
                continue
            sock = socket.socket(family, kind, proto)
            try:
                for level, name, value in options.get("socket_options") or ():
                    sock.setsockopt(level, name, value)
                if timeout is not None:
                    sock.settimeout(timeout)
                sock.connect(address)
                return sock
            except OSError as e:
                error = e
                sock.close()
        if error is not None:
            raise error
        raise Refused(reasons[0] if reasons else f"{host} has no address.")


Origin = tuple[str, str, int | None]
CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})


def origin(url: str | None) -> Origin | None:
    """(scheme, host, port) of `url`, as browsers compare origins: the one place a credential may go."""
    if not url:
        return None
    try:
        parts = urlsplit(str(url).strip())
        scheme = parts.scheme.lower()
        return scheme, (parts.hostname or "").lower().rstrip("."), parts.port or {"http": 80, "https": 443}.get(scheme)
    except ValueError:
        return None


def shown_origin(found: Origin | None) -> str:
    return f"{found[0]}://{found[1]}:{found[2]}" if found else "(none)"


def _guarded(base: type, guard: Guard) -> type:
    """A urllib3 connection class whose sockets go through `guard` (TLS still checks the host name)."""

    def _new_conn(self) -> socket.socket:
        return guard.connect(self._dns_host, self.port, self.timeout, socket_options=self.socket_options)

    return type(f"Guarded{base.__name__}", (base,), {"_new_conn": _new_conn})


class _GuardedAdapter(HTTPAdapter):
    def __init__(self, guard: Guard, pool_size: int):
        self.guard = guard
        retry = Retry(total=2, connect=2, read=0, status=2, other=0, redirect=0, allowed_methods=IDEMPOTENT,
                      status_forcelist=(502, 503, 504), backoff_factor=0.05, raise_on_status=False,
                      respect_retry_after_header=False)
        super().__init__(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=retry)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        http = type("GuardedPool", (HTTPConnectionPool,), {"ConnectionCls": _guarded(HTTPConnection, self.guard)})
        https = type("GuardedTLSPool", (HTTPSConnectionPool,),
                     {"ConnectionCls": _guarded(HTTPSConnection, self.guard)})
        self.poolmanager.pool_classes_by_scheme = {"http": http, "https": https}


@dataclass
class Response:
    """A whole, size-checked response: what handlers and output mappings read."""

    status: int
    headers: dict[str, str]
    content: bytes
    url: str
    elapsed_ms: float = 0.0
    history: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def checked(self) -> Response:
        """The response itself if its status is 2xx, else IntegrationError quoting the status and body."""
        if not self.ok:
            raise IntegrationError(f"{urlsplit(self.url).netloc} answered {self.status}: {self.text[:200]!r}")
        return self

    def json(self) -> Any:
        """The body as JSON, or IntegrationError saying it is not."""
        if not self.content.strip():
            return None
        try:
            return json.loads(self.content)
        except ValueError:
            kind = self.headers.get("Content-Type", "no content type")
            raise IntegrationError(f"The answer of {self.url} is not JSON ({kind}): {self.text[:80]!r}") from None

    def body(self) -> Any:
        """JSON when the body parses as JSON, else the text: what the log and `http-request` show."""
        try:
            return self.json()
        except IntegrationError:
            return self.text


class _WithoutRequestLines(logging.Filter):
    """urllib3 logs each request line at DEBUG, query string included, where an API key may travel."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.levelno == logging.DEBUG and '"%s %s %s"' in str(record.msg))


_URLLIB3_LOG = logging.getLogger("urllib3.connectionpool")


class HttpSession:
    """The app's pooled, guarded session (one per app, shared by threads: requests' pools are thread-safe)."""

    def __init__(self, guard: Guard, *, max_bytes: int = 10 * 2**20, pool_size: int = 20):
        self.guard, self.max_bytes = guard, max_bytes
        if not any(isinstance(f, _WithoutRequestLines) for f in _URLLIB3_LOG.filters):
            _URLLIB3_LOG.addFilter(_WithoutRequestLines())
        self.session = requests.Session()
        self.session.trust_env = False  # no proxy from the environment: the guard checks the real peer
        self.adapter = _GuardedAdapter(guard, pool_size)
        self.session.mount("http://", self.adapter)
        self.session.mount("https://", self.adapter)

    def mount_on(self, session: requests.Session) -> requests.Session:
        """Route another requests session (an OAuth client's) through this guard and pool."""
        session.trust_env = False
        session.mount("http://", self.adapter)
        session.mount("https://", self.adapter)
        return session

    def request(self, method: str, url: str, *, headers: dict | None = None, params: Any = None,
                json_body: Any = None, data: Any = None, timeout: float = 3.0, follow_redirects: bool = True,
                max_bytes: int | None = None, credential_headers: Iterable[str] = ()) -> Response:
        """One call, redirects followed and re-checked (or answered as they are), the body read up to the size
        limit (the session's, or `max_bytes`) within `timeout`. A redirect to another origin drops the
        credentials: Authorization, Cookie and the `credential_headers` (an API key's header), and the query
        parameters given (an API key's parameter)."""
        started, deadline = time.perf_counter(), time.monotonic() + timeout
        raw, history = self._open(method, url, headers, params, json_body, data, timeout, follow_redirects,
                                  credential_headers)
        content = self._read(raw, deadline, timeout, max_bytes or self.max_bytes)
        return Response(raw.status_code, dict(raw.headers), content, raw.url,
                        (time.perf_counter() - started) * 1000, history)

    def download(self, url: str, into: IO[bytes], *, headers: dict | None = None, timeout: float,
                 max_bytes: int) -> Response:
        """GET `url` chunk by chunk into the file `into` (a big file is never held in memory as one piece);
        the Response has no content, `into` has it."""
        started, deadline = time.perf_counter(), time.monotonic() + timeout
        raw, history = self._open("GET", url, headers, None, None, None, timeout, True)
        self._read(raw, deadline, timeout, max_bytes, into)
        return Response(raw.status_code, dict(raw.headers), b"", raw.url, (time.perf_counter() - started) * 1000,
                        history)

    def _open(self, method, url, headers, params, json_body, data, timeout, follow_redirects,
              credential_headers: Iterable[str] = ()):
        """The answer whose body is still to read (not a redirect, unless they are not followed) and the hops."""
        method, deadline, history = method.upper(), time.monotonic() + timeout, []
        headers = dict(headers or {})
        secret = CREDENTIAL_HEADERS | {name.lower() for name in credential_headers}
        for _ in range(MAX_REDIRECTS + 1):
            _check_scheme(url)
            raw = self._send(method, url, headers, params, json_body, data, deadline, timeout)
            location = raw.headers.get("Location")
            if not (follow_redirects and raw.is_redirect and location):
                return raw, history
            raw.close()
            history.append(url)
            nxt = urljoin(url, location)
            if origin(nxt) != origin(url):  # scheme, host or port differ: no credential goes along
                headers = {k: v for k, v in headers.items() if k.lower() not in secret}
            if raw.status_code in (301, 302, 303) and method not in ("GET", "HEAD"):
                method, json_body, data = "GET", None, None
            url, params = nxt, None
        raise IntegrationError(f"More than {MAX_REDIRECTS} redirects, the last to {url}.")

    def _send(self, method, url, headers, params, json_body, data, deadline, timeout) -> requests.Response:
        remaining = _remaining(deadline, url, timeout)
        try:
            return self.session.request(method, url, headers=headers, params=params, json=json_body, data=data,
                                        timeout=(min(CONNECT_TIMEOUT, remaining), remaining),
                                        allow_redirects=False, stream=True)
        except requests.Timeout:
            raise TimedOut(f"{urlsplit(url).netloc} did not answer within the timeout ({timeout:g} s).") from None
        except requests.RequestException as e:
            raise IntegrationError(f"Could not reach {urlsplit(url).netloc}: {_reason(e)}") from None

    def _read(self, raw: requests.Response, deadline: float, timeout: float, limit: int,
              into: IO[bytes] | None = None) -> bytes:
        """The body, at most `limit` bytes before `deadline`; written to `into` instead when given."""
        declared = raw.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            raw.close()
            raise TooBig(self._too_big(raw.url, limit, int(declared)))
        chunks, size = [], 0
        try:
            for chunk in raw.iter_content(64 * 1024):
                size += len(chunk)
                if size > limit:
                    raise TooBig(self._too_big(raw.url, limit))
                _remaining(deadline, raw.url, timeout)
                if into is None:
                    chunks.append(chunk)
                else:
                    into.write(chunk)
        except requests.RequestException as e:
            if _cause(e, TimeoutError) or "timed out" in str(e).lower():
                raise TimedOut(f"{urlsplit(raw.url).netloc} did not finish answering within the timeout "
                               f"({timeout:g} s).") from None
            raise IntegrationError(f"The answer of {urlsplit(raw.url).netloc} broke off: {_reason(e)}") from None
        finally:
            raw.close()
        return b"".join(chunks)

    def _too_big(self, url: str, limit: int, size: int | None = None) -> str:
        what = _size(size) if size else f"more than {_size(limit)}"
        setting = " (INTEGRATIONS_MAX_RESPONSE_BYTES)" if limit == self.max_bytes else ""
        return f"The answer of {urlsplit(url).netloc} is {what}; at most {_size(limit)} is read{setting}."

    def close(self) -> None:
        self.session.close()


def _check_scheme(url: str) -> None:
    if urlsplit(url).scheme not in ("http", "https"):
        raise Refused(f"Refused {url[:80]!r}: not an http(s) address; only http:// and https:// addresses can be "
                      "called.")


def _remaining(deadline: float, url: str, timeout: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimedOut(f"{urlsplit(url).netloc} did not answer within the timeout ({timeout:g} s).")
    return left




def _size(count: int) -> str:
    return f"{count / 2**20:.1f} MB" if count >= 2**20 else f"{count / 2**10:.1f} KB" if count >= 2**10 \
        else f"{count} bytes"


def _cause(error: BaseException, kind: type) -> Any:
    """The first exception of `kind` among the causes of `error` (requests wraps urllib3's, which wrap the socket's)."""
    todo, seen = [error], set()
    while todo:
        current = todo.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        if isinstance(current, kind):
            return current
        seen.add(id(current))
        todo += [current.__cause__, current.__context__, getattr(current, "reason", None), *current.args]
    return None


def _reason(error: Exception) -> str:
    text = str(error)
    for marker in ("Failed to establish a new connection: ", "] "):
        if marker in text:
            text = text.split(marker, 1)[1]
    return text.rstrip("')\"")[:200]

"""One integration call: check the input, run the template (handler or declarative), check the output.

`perform` never raises for a failed call: it returns a `CallResult` with a plain-words error, and the
exchanges it made (redacted) for the integration log. Everything it needs arrives as arguments (the
template, the integration's settings, secret values, the user's data, the guarded session), so the
designer's "try this call" and the runtime step run the same code.
"""

from __future__ import annotations

import json as json_
import logging
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from runtime.integrations import auth as auth_
from runtime.integrations import declarative
from runtime.integrations.catalog import Template
from runtime.integrations.errors import IntegrationError, Refused, TimedOut
from runtime.integrations.http import HttpSession, Response, origin, shown_origin
from runtime.integrations.redaction import Redactor

log = logging.getLogger(__name__)


@dataclass
class CallResult:
    ok: bool
    output: Any = None
    error: str | None = None
    exchanges: list[dict] = field(default_factory=list)  # redacted, in integration-log columns
    signed_out: bool = False  # no call was made: the user has not signed in (oauth2-authorization-code)

    def as_input(self) -> dict:
        """What the engine gets back (`Input.result`): no exchanges, nothing secret."""
        return {"ok": self.ok, "output": self.output, "error": self.error}


IDEMPOTENCY_HEADER = "Idempotency-Key"
UNSAFE = {"POST", "PATCH"}  # the methods HTTP does not make idempotent (PUT and DELETE are)


class CallHttp:
    """The `http` a handler receives: the guarded session with the integration's auth, the call's deadline,
    and a journal of every exchange. Handlers call `http.get(url, params=...)`, `http.post(url, json=...)`.

    With an `idempotency_key` (a call of a step, named by its effect), each POST and PATCH carries an
    `Idempotency-Key` header: the key, then `key-2`, `key-3` for a call's later requests. A call made again
    (its worker died mid-call) sends the same keys, so an API that honours them does the work once."""

    def __init__(self, session: HttpSession, credentials: auth_.Credentials, deadline: float, journal: list[dict],
                 *, home: str | None = None, redactor: Redactor | None = None, idempotency_key: str | None = None):
        self.session, self.credentials, self.deadline, self.journal = session, credentials, deadline, journal
        self.home, self.redactor = origin(home), redactor or Redactor()
        self.idempotency_key, self._unsafe = idempotency_key, 0

    def request(self, method: str, url: str, *, headers: dict | None = None, params: dict | None = None,
                json: Any = None, data: Any = None) -> Response:
        headers = {**self._keyed(method, headers or {}), **self.credentials.headers}
        params = {**(params or {}), **self.credentials.query} or None
        entry = {"method": method.upper(), "url": url, "request_headers": headers, "query": params,
                 "request_body": json if json is not None else data}
        started = time.perf_counter()
        try:
            carried = self._credentials_in(url, headers, params, json if json is not None else data)
            if carried and origin(url) != self.home:
                raise Refused(f"Refused to send the integration's credentials to {shown_origin(origin(url))}: they "
                              f"go only to its own address ({shown_origin(self.home)}), the origin of its base "
                              "address. Make the step's address a path, or a URL on that origin.")
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise TimedOut("The call ran out of time before this request.")
            response = self.session.request(method, url, headers=headers, params=params, json_body=json, data=data,
                                            timeout=left, credential_headers=carried)
            entry.update(response_status=response.status, response_body=response.content)
            return response
        except IntegrationError as e:
            entry["error"] = str(e)
            raise
        finally:
            entry["duration_ms"] = (time.perf_counter() - started) * 1000
            self.journal.append(entry)

    def _keyed(self, method: str, headers: dict) -> dict:
        """The headers with the request's Idempotency-Key added (unless the template set its own)."""
        if not self.idempotency_key or method.upper() not in UNSAFE or \
                any(name.lower() == IDEMPOTENCY_HEADER.lower() for name in headers):
            return headers
        self._unsafe += 1
        key = self.idempotency_key if self._unsafe == 1 else f"{self.idempotency_key}-{self._unsafe}"
        return {**headers, IDEMPOTENCY_HEADER: key}

    def _credentials_in(self, url: str, headers: dict, params: dict | None, body: Any) -> list[str]:
        """The headers that carry a credential (the auth's, the redactor's auth headers, any with a secret in its
        value), and "(credential)" when a query parameter, the address or the body holds a secret; empty when the
        request carries none."""
        hidden = self.redactor.headers
        carried = [name for name, value in headers.items()
                   if name in self.credentials.headers or name.lower() in hidden or self._secret_in(value)]
        if self.credentials.query or any(self._secret_in(v) for v in (url, params, body) if v is not None):
            carried.append("(credential)")
        return carried

    def _secret_in(self, value: Any) -> bool:
        if isinstance(value, bytes):
            value = value.decode("utf-8", errors="replace")
        elif not isinstance(value, str):
            value = json_.dumps(value, ensure_ascii=False, default=str)
        return any(form in value for form in self.redactor.forms)

    def get(self, url: str, **options: Any) -> Response:
        return self.request("GET", url, **options)

    def post(self, url: str, **options: Any) -> Response:
        return self.request("POST", url, **options)

    def put(self, url: str, **options: Any) -> Response:
        return self.request("PUT", url, **options)

    def patch(self, url: str, **options: Any) -> Response:
        return self.request("PATCH", url, **options)

    def delete(self, url: str, **options: Any) -> Response:
        return self.request("DELETE", url, **options)


@dataclass
class Services:
    """The app-wide parts a call uses: the guarded session and the OAuth token cache."""

    http: HttpSession
    tokens: auth_.TokenCache


def perform(template: Template, integration: dict, input_: Any, *, secrets: dict[str, str], user_data: dict,
            services: Services, timeout: float, user_token: str | None = None,
            idempotency_key: str | None = None) -> CallResult:
    """Run one call of `template` configured by `integration` ({config, auth, secrets}); never raises.
    `user_token`: the user's access token, for an integration that acts for them (`oauth2-authorization-code`);
    `idempotency_key`: the call's key, the same each time this call is made again (see `CallHttp`)."""
    journal: list[dict] = []
    redactor = Redactor(list(secrets.values()))
    config = integration.get("config") or {}
    try:
        output = _run(template, integration, config, input_, secrets, user_data, services, timeout, redactor, journal,
                      user_token, idempotency_key)
        return CallResult(True, output, None, redacted(journal, redactor))
    except IntegrationError as e:
        return CallResult(False, None, redactor.text(str(e)), redacted(journal, redactor))
    except Exception as e:  # a handler's own bug: the conversation goes on by onError, the log says what broke
        log.exception("Integration template %s failed", template.slug)
        return CallResult(False, None, redactor.text(f"The template '{template.slug}' failed: {type(e).__name__}: {e}"),
                          redacted(journal, redactor))


def _run(template, integration, config, input_, secrets, user_data, services, timeout, redactor, journal,
         user_token, idempotency_key) -> Any:
    problems = template.problems("config", config)
    if problems:
        raise IntegrationError(f"The integration's settings do not fit '{template.slug}': {'; '.join(problems)}")
    kind = (integration.get("auth") or {}).get("type", "none")
    if kind not in template.auth:
        raise IntegrationError(f"The template '{template.slug}' does not support '{kind}' auth; it supports "
                               f"{', '.join(template.auth)}.")
    problems = template.problems("input", input_)
    if problems:
        raise IntegrationError(f"The step's input does not fit '{template.slug}': {'; '.join(problems)}")
    deadline = time.monotonic() + timeout
    credentials = auth_.credentials(integration.get("auth"), secrets, user_data, http=services.http,
                                    tokens=services.tokens, timeout=timeout, redactor=redactor, journal=journal,
                                    user_token=user_token)
    http = CallHttp(services.http, credentials, deadline, journal, home=home(config, secrets), redactor=redactor,
                    idempotency_key=idempotency_key)
    if template.handler is not None:
        output = template.handler(input_, config, dict(secrets), http)
    else:
        output = declarative.run(template.spec, input_, config, secrets, http)
    problems = template.problems("output", output)
    if problems:
        raise IntegrationError(f"The answer does not fit the output of '{template.slug}': {'; '.join(problems)}")
    return output


HOME_KEYS = ("baseUrl", "url", "endpoint")  # the config fields that name an integration's own address


def home(config: dict, secrets: dict) -> str | None:
    """The integration's own address, whose origin alone its credentials go to: its base URL (or URL, endpoint)
    in the config, else the address kept as a secret (a webhook's URL)."""
    found = next((config[key] for key in HOME_KEYS if isinstance(config.get(key), str) and config[key]), None)
    return found or secrets.get("url") or secrets.get("webhookUrl")


def redacted(journal: list[dict], redactor: Redactor) -> list[dict]:
    """A journal's exchanges as integration-log rows, every secret hidden."""
    rows = []
    for entry in journal:
        url = entry["url"]
        if entry.get("query"):
            url += ("&" if "?" in url else "?") + urlencode(entry["query"])
        rows.append({"url": redactor.text(url), "method": entry["method"],
                     "request_headers": redactor.header_map(entry.get("request_headers")),
                     "request_body": redactor.text(entry.get("request_body")),
                     "response_status": entry.get("response_status"),
                     "response_body": redactor.text(entry.get("response_body")),
                     "duration_ms": round(entry.get("duration_ms", 0.0), 3),
                     "error": redactor.text(entry.get("error"))})
    return rows

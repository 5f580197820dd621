"""What the designer's integration forms call: the catalog browser, a bot's integrations checked against the
catalog, "test connection", "try this call" with sample values, and "save as template" (a configured
http-request step becomes an action template).

Plain functions over a bot id and dicts, inside an app context; they make real calls through the same
guarded session and log them like the runtime does (step id `(designer)`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from runtime import expressions
from runtime.botdoc.problems import Problem, pointer
from runtime.integrations import auth as auth_
from runtime.integrations import get
from runtime.integrations.calls import CallHttp, CallResult, home, redacted
from runtime.integrations.catalog import Rejected, Template, load_template
from runtime.integrations.errors import IntegrationError
from runtime.integrations.redaction import Redactor
from runtime.integrations.runner import call, log_rows, resolve_secrets
from runtime.store import integration_log
from runtime.store import secrets as bot_secrets

DESIGNER = "(designer)"
URL_KEYS = ("baseUrl", "url", "endpoint")


def catalog(search: str = "") -> dict[str, list[dict]]:
    """Templates by level (action, service, protocol), each with its description and schemas; `search` filters."""
    return get().catalog.grouped(search)


def problems(doc: dict, secret_names: list[str] | dict[str, str | None] | None = None) -> list[Problem]:
    """A bot's integrations checked against this server's catalog (which the document's own validation
    cannot know): templates not installed, auth a template does not support, settings that do not fit,
    bot secrets not set (when `secret_names`, the bot's, are given), or set for another address (when they
    come with the address each is bound to). Warnings: the bot still opens and runs, its steps that use such
    an integration follow their onError."""
    found, catalog_ = [], get().catalog
    for name, integration in (doc.get("integrations") or {}).items():
        where = pointer(["integrations", name])
        template = catalog_.get(integration.get("template", ""))
        if template is None:
            found.append(Problem(f"{where}/template", f"The template '{integration.get('template')}' is not "
                                                      "installed on this server; steps using it will fail.", "warning"))
            continue
        kind = (integration.get("auth") or {}).get("type", "none")
        if kind not in template.auth:
            found.append(Problem(f"{where}/auth", f"'{template.slug}' does not support '{kind}' auth; pick one "
                                                  f"of {', '.join(template.auth)}.", "warning"))
        found += [Problem(f"{where}/config", f"{problem}.", "warning")
                  for problem in template.problems("config", integration.get("config") or {})]
        for wanted in auth_.secret_names(integration.get("auth")):
            if wanted not in (integration.get("secrets") or {}):
                found.append(Problem(f"{where}/secrets", f"Name the bot secret holding the '{wanted}' of its "
                                                         "auth.", "warning"))
        address = bot_secrets.destination(home(integration.get("config") or {}, {}))
        for key, secret in (integration.get("secrets") or {}).items():
            if secret_names is not None and secret not in secret_names:
                found.append(Problem(pointer(["integrations", name, "secrets", key]),
                                     f"The bot secret '{secret}' is not set yet.", "warning"))
            elif isinstance(secret_names, dict) and (expected := _address_of(integration, key, address)) \
                    and secret_names[secret] != expected:
                found.append(Problem(pointer(["integrations", name, "secrets", key]),
                                     f"The bot secret '{secret}' was set for "
                                     f"{'another address' if secret_names[secret] else 'no address'}: "
                                     f"enter it again here, for {expected}.", "warning"))
    return found


def _address_of(integration: dict, key: str, home_address: str | None) -> str | None:
    """The address a secret of the integration must be bound to: the token URL's for the client secret of one
    that signs users in (`oauth2-authorization-code`), else the integration's own."""
    auth = integration.get("auth") or {}
    if key == "clientSecret" and auth.get("type") == "oauth2-authorization-code":
        return bot_secrets.destination(auth.get("tokenUrl"))
    return home_address


def test_connection(bot_id: str, integration: dict, timeout: float = 5.0) -> dict:
    """Reach the integration's address with its auth: {"ok", "status", "message"} in words a person reads.

    A GET of the configured base address: any answer but 401/403 or a 5xx means the address and the
    credentials work (an API's root often answers 404, which is fine here).
    """
    config, service = integration.get("config") or {}, get()
    url = next((config[key] for key in URL_KEYS if config.get(key)), None)
    if (integration.get("auth") or {}).get("type") == "oauth2-authorization-code":
        return {"ok": False, "status": None, "message": "This integration calls with each user's own sign-in: "
                                                        "test it in the chat (Try it), signing in as a user."}
    result = CallResult(False, exchanges=[])
    try:
        secrets = resolve_secrets(bot_id, integration)
        url = url or secrets.get("url") or secrets.get("webhookUrl")
        if not url:
            return {"ok": False, "status": None, "message": "The integration has no address to test."}
        redactor, journal = Redactor(list(secrets.values())), []
        credentials = auth_.credentials(integration.get("auth"), secrets, {}, http=service.services.http,
                                        tokens=service.services.tokens, timeout=timeout, redactor=redactor,
                                        journal=journal)
        try:
            answer = CallHttp(service.services.http, credentials, time.monotonic() + timeout, journal,
                              home=home(config, secrets) or url, redactor=redactor).get(url)
        finally:
            result.exchanges = redacted(journal, redactor)
        ok = answer.status < 500 and answer.status not in (401, 403)
        message = "Connected." if ok else (f"The server refused the credentials ({answer.status})."
                                           if answer.status in (401, 403) else f"The server answered {answer.status}.")
        result.ok, result.error = ok, None if ok else message
        return {"ok": ok, "status": answer.status, "message": message}
    except (IntegrationError, bot_secrets.SecretMissing) as e:
        result.error = str(e)
        return {"ok": False, "status": None, "message": str(e)}
    finally:
        integration_log.write(log_rows(bot_id, None, None, DESIGNER, result))


def try_call(bot_id: str, integration: dict, params: dict, sample: dict, timeout: float = 10.0) -> CallResult:
    """Run a step's call with sample values for the storages it reads: the real output or error, and the
    exchanges (status, headers, body) to show."""
    def render(text: str) -> str:
        return expressions.render(text, sample)

    def evaluate(source: str) -> Any:
        return expressions.evaluate(source, sample)

    try:
        input_ = expressions.fill(params, render, evaluate)
    except expressions.ExpressionError as e:
        return CallResult(False, error=f"The parameters could not be filled in: {e}")
    effect = {"step": DESIGNER, "use": "(try)", "integration": integration, "input": input_, "timeout": timeout}
    return call(bot_id, None, None, effect)


SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


def save_as_template(integration: dict, params: dict, *, slug: str, title: str, description: str) -> Template:
    """Turn a configured `http-request` step into an action-level declarative template.

    Each storage the step's texts read (`{{ email }}`) becomes a text field of the new template's input
    form; the base address becomes its config; its auth choice comes along. Rejected says what to change.
    """
    if integration.get("template") != "http-request":
        raise Rejected("Only an http-request step can be saved as a template.")
    if not SLUG.match(slug):
        raise Rejected("The template's id is 1 to 64 lower-case letters, digits and -.")
    if get().catalog.get(slug) is not None:
        raise Rejected(f"A template '{slug}' exists already; pick another id.")
    fields = sorted({name for text in expressions.strings(params) if "{" in text
                     for name in expressions.template_names(text)} - {"user", "event", "input", "now"})
    base = (integration.get("config") or {}).get("baseUrl", "")
    url = params.get("url", "")
    request = {"method": params.get("method", "GET"),
               "url": url if url.startswith(("http://", "https://", "{{")) else
               "{{ config.baseUrl.rstrip('/') }}/" + url.lstrip("/")}
    for key, target in (("headers", "headers"), ("query", "query"), ("json", "json"), ("form", "form")):
        if params.get(key) is not None:
            request[target] = params[key]
    spec = {
        "slug": slug, "title": title, "level": "action", "description": description, "version": "1.0.0",
        "auth": sorted({"none", (integration.get("auth") or {}).get("type", "none")}),
        "config": {"type": "object", "additionalProperties": False,
                   "properties": {"baseUrl": {"type": "string", "pattern": "^https?://", "title": "Base address",
                                              "default": base}}},
        "input": {"type": "object", "required": fields, "additionalProperties": False,
                  "properties": {name: {"type": "string", "title": name} for name in fields}},
        "output": {"description": "The answer's body."},
        "request": request,
        "mapping": {"jmespath": "body"},
    }
    return _write(slug, spec)


def _write(slug: str, spec: dict) -> Template:
    """Write the folder aside, check it as the catalog would, then move it into place."""
    saved = get().saved
    saved.mkdir(parents=True, exist_ok=True)
    draft = Path(tempfile.mkdtemp(dir=saved, prefix=".draft-")) / slug
    draft.mkdir()
    try:
        (draft / "template.json").write_text(json.dumps(spec, indent=2, ensure_ascii=False) + "\n")
        load_template(draft)
        os.replace(draft, saved / slug)
    finally:
        shutil.rmtree(draft.parent, ignore_errors=True)
    os.utime(saved)  # other processes rescan the catalog
    return get().catalog.get(slug)

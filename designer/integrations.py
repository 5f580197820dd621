"""A bot's integrations in the designer: the catalog browser, the form that configures one integration
(config from the template's config schema, auth among the template's methods, secrets write-only), "test
connection", and the integration log. The calls themselves are the runtime's (`runtime.integrations.authoring`).
"""

from __future__ import annotations

import re

from flask import redirect, render_template, request, url_for
from markupsafe import escape

from designer import bp, drafting, schemaform, tree
from designer.bots import get_bot_or_404
from designer.drafting import Refused, answer
from runtime.botdoc.schema import AUTH
from runtime.integrations import authoring, get, sign_in
from runtime.integrations.auth import SECRET_OF
from runtime.integrations.calls import home
from runtime.store import integration_log, secrets

NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
SECRET_TITLES = {"password": "Password (Basic auth)", "token": "Token (Bearer auth)", "apiKey": "API key",
                 "clientSecret": "Client secret (OAuth2)"}


@bp.get("/bots/<bot_id>/integrations")
def integration_list(bot_id: str):
    bot = get_bot_or_404(bot_id)
    doc, _ = drafting.current(bot_id)
    search = request.args.get("q", "").strip()[:200]
    groups = authoring.catalog(search)
    if request.headers.get("HX-Request") and request.args.get("partial") == "catalog":
        return render_template("designer/partials/_catalog.html", bot=bot, groups=groups, search=search)
    return render_template("designer/integrations.html", bot=bot, doc=doc, groups=groups, search=search,
                           problems=authoring.problems(doc, secrets.addresses(bot_id)))


def _secret_keys(template) -> list[tuple[str, str]]:
    """(template-side name, label) of each secret the template or one of its auth methods reads."""
    keys = [(key, spec.get("title") or key) for key, spec in (template.spec.get("secrets") or {}).items()]
    keys += [(SECRET_OF[kind], SECRET_TITLES[SECRET_OF[kind]]) for kind in template.auth if kind in SECRET_OF]
    return keys


AUTH_TITLES = {"username": "Username (Basic auth)", "storage": "Storage holding the user's token (user-token)",
               "in": "Send the API key in (api-key)", "name": "Header or query parameter name (api-key)",
               "authorizeUrl": "Sign-in address (OAuth2 for each user)",
               "tokenUrl": "Token address (OAuth2)", "clientId": "Client id (OAuth2)", "scope": "Scope (OAuth2)",
               "clientAuth": "How the client proves itself (OAuth2)"}


def bound_to(key: str, integration: dict, entered: dict) -> str | None:
    """The address a secret of the integration is entered for: its own, but the token URL for the client secret of
    an integration signing users in (that secret goes to the provider's token endpoint alone)."""
    auth = integration.get("auth") or {}
    if key == "clientSecret" and auth.get("type") == sign_in.KIND:
        return auth.get("tokenUrl")
    return home(integration.get("config") or {}, entered)


def _auth_schema(template) -> dict:
    """The document's auth schema, its methods those the template supports, each field titled for a person."""
    properties = {key: {**spec, "title": AUTH_TITLES.get(key, key)} for key, spec in AUTH["properties"].items()}
    properties["type"] = {"enum": list(template.auth), "title": "Authentication method"}
    return {**AUTH, "properties": properties}


def _form_page(bot_id: str, name: str, integration: dict, status: int = 200, error: str = "", new: bool = False):
    bot = get_bot_or_404(bot_id)
    _, revision = drafting.current(bot_id)
    template = get().catalog.get(integration.get("template", ""))
    if template is None:
        return answer(f"The template '{escape(integration.get('template'))}' is not installed on this server.",
                      status=404)
    config = schemaform.fields(template.spec.get("config") or {"type": "object"}, integration.get("config"), "config")
    auth = schemaform.fields(_auth_schema(template), integration.get("auth") or {"type": template.auth[0]}, "auth",
                             required=True)
    mapped = integration.get("secrets") or {}
    saved = set(secrets.names(bot_id))
    keys = [(key, label, mapped.get(key) in saved) for key, label in _secret_keys(template)]
    return render_template("designer/integration.html", bot=bot, name=name, template=template, config=config,
                           auth=auth, keys=keys, revision=revision, error=error, new=new), status


@bp.get("/bots/<bot_id>/integrations/new")
def integration_new(bot_id: str):
    return _form_page(bot_id, "", {"template": request.args.get("template", "")}, new=True)


@bp.get("/bots/<bot_id>/integrations/<name>")
def integration_edit(bot_id: str, name: str):
    doc, _ = drafting.current(bot_id)
    integration = (doc.get("integrations") or {}).get(name)
    if integration is None:
        return answer(f"This bot has no integration named '{escape(name)}'.", status=404)
    return _form_page(bot_id, name, integration)


@bp.post("/bots/<bot_id>/integrations")
def integration_save(bot_id: str):
    """Save one integration into the draft; secret values go to the bot's secrets, the draft names them."""
    get_bot_or_404(bot_id)
    form = request.form
    name, original = form.get("name", "").strip(), form.get("original", "")
    template = get().catalog.get(form.get("template", ""))
    if template is None:
        return answer("Pick a template from the catalog.", status=422)
    doc, _ = drafting.current(bot_id)
    old = (doc.get("integrations") or {}).get(original) or {}
    integration = {"template": template.slug, "config": old.get("config"), "auth": old.get("auth"),
                   "secrets": dict(old.get("secrets") or {})}
    try:
        if not NAME.match(name):
            raise schemaform.FormError("name", "Name the integration with a letter, then letters, digits, _ or -.")
        if name != original and name in (doc.get("integrations") or {}):
            raise schemaform.FormError("name", f"The bot has an integration named '{name}' already.")
        integration["config"] = schemaform.parse(template.spec.get("config") or {"type": "object"}, form, "config",
                                                 integration["config"], None, True) or {}
        integration["auth"] = schemaform.parse(_auth_schema(template), form, "auth", integration["auth"], None, True)
        wrong = template.problems("config", integration["config"])
        if wrong:
            raise schemaform.FormError("config", f"{wrong[0]}.")
        entered = {key: form.get(f"secret.{key}", "") for key, _ in _secret_keys(template)}
        for key, value in entered.items():
            base = bound_to(key, integration, entered)
            moved = secrets.destination(bound_to(key, old, {})) != secrets.destination(base)
            if value and not base:
                raise schemaform.FormError("config", "Fill in the integration's address first: its secrets are sent "
                                                     "only there.")
            if value:
                secrets.set_secret(bot_id, f"{name}.{key}", value, bound_to=base)
                integration["secrets"][key] = f"{name}.{key}"
            elif moved:  # a secret is bound to the address it was entered for: pointed elsewhere, it is cleared
                integration["secrets"].pop(key, None)
    except (schemaform.FormError, ValueError) as e:
        return _form_page(bot_id, original, {**integration}, 422, str(e), new=not original)
    integration = {k: v for k, v in integration.items() if v}
    integration["template"] = template.slug

    def change(draft: dict) -> None:
        found = draft.setdefault("integrations", {})
        found.pop(original, None)
        found[name] = integration
        if original and original != name:  # renamed: its steps follow
            for _, step in tree.all_steps(draft):
                if step.get("type") == "integration" and step.get("use") == original:
                    step["use"] = name

    try:
        drafting.edit(bot_id, f"Set up the integration {name}", change)
    except Refused as e:
        return _form_page(bot_id, original, integration, e.status, e.message, new=not original)
    return redirect(url_for("designer.integration_edit", bot_id=bot_id, name=name, saved=1))


@bp.post("/bots/<bot_id>/integrations/<name>/delete")
def integration_delete(bot_id: str, name: str):
    """Take the integration out of the draft, unless steps still call it (they would break on publish).

    Its secrets stay: the published version may still call it until the draft is published, and an undo brings
    the integration back; the Developers page removes secrets."""
    get_bot_or_404(bot_id)

    def change(draft: dict) -> None:
        if name not in (draft.get("integrations") or {}):
            raise Refused(404, f"This bot has no integration named '{name}'.")
        users = [step["id"] for _, step in tree.all_steps(draft)
                 if step.get("type") == "integration" and step.get("use") == name]
        if users:
            raise Refused(422, f"Steps still call '{name}' ({', '.join(users[:5])}{'…' if len(users) > 5 else ''}): "
                               "delete them or pick another integration in them first.")
        del draft["integrations"][name]

    try:
        drafting.edit(bot_id, f"Delete the integration {name}", change)
    except Refused as e:
        doc, _ = drafting.current(bot_id)
        if name not in (doc.get("integrations") or {}):
            return drafting.refused(e)  # it quotes the name from the URL: escaped
        return _form_page(bot_id, name, doc["integrations"][name], e.status, e.message)
    return redirect(url_for("designer.integration_list", bot_id=bot_id, deleted=name))


@bp.post("/bots/<bot_id>/integrations/<name>/test")
def integration_test(bot_id: str, name: str):
    """"Test connection" (htmx): the saved integration's address reached with its auth, in words."""
    get_bot_or_404(bot_id)
    doc, _ = drafting.current(bot_id)
    integration = (doc.get("integrations") or {}).get(name)
    if integration is None:
        return answer(f"This bot has no integration named '{escape(name)}' (deleted meanwhile?); reload the page.",
                      status=404)
    outcome = authoring.test_connection(bot_id, integration)
    return render_template("designer/partials/_connection.html", outcome=outcome)


@bp.get("/bots/<bot_id>/integration-log")
def integration_log_page(bot_id: str):
    """Recent calls, newest first, by step and failures; bodies were redacted when written."""
    bot = get_bot_or_404(bot_id)
    step = request.args.get("step", "").strip() or None
    failed = True if request.args.get("failed") else None
    rows = integration_log.recent(bot_id, step_id=step, failed=failed, limit=200)
    steps = sorted({row.step_id for row in integration_log.recent(bot_id, limit=500) if row.step_id} | {step} - {None})
    return render_template("designer/integration_log.html", bot=bot, rows=rows, steps=steps, step=step or "",
                           failed=bool(failed))

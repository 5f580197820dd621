"""A bot's Platforms page: its connections to messaging platforms, each platform offered by name with its own
fields (Webex Connect: webhook URL, access and verification tokens, rule; Twilio: account SID, auth token,
number or WhatsApp sender, public URL; the Microsoft Bot Framework: app id and password, tenant, and under
"Advanced" the issuer, OpenID metadata URL and token endpoint; any other platform: Arbor's JSON with its reply
address and credentials). Create (the tokens shown once, on that answer only), edit (secrets left blank are
kept), test (Twilio's account, the Bot Framework's token endpoint), regenerate the token, re-verify (switch back
on), delete, and each connection's recent replies with their delivery state. The work is
`runtime.channels.platforms`'."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from designer import bp
from designer.bots import get_bot_or_404
from runtime.channels.platforms import adapters, connections
from runtime.channels.platforms.models import RULES
from runtime.webhooks import delivery

LOG_SIZE = 20
RULE_HELP = {"bot": "The bot answers everything; a handover step is closed at once and the bot goes on.",
             "agent": "Every message goes to an agent; the bot never answers.",
             "bot-first": "The bot answers first; after a handover step, agents answer until they close."}
SECRET_FIELDS = ("token", "password", "access_token", "verification_token", "auth_token", "app_password")
BOTFRAMEWORK_FIELDS = {"appId": "app_id", "tenant": "tenant", "issuer": "issuer",
                       "openIdMetadataUrl": "openid_metadata_url", "tokenEndpoint": "token_endpoint"}
NO_REPLY_ADDRESS = ("twilio", "botframework")  # replies go where the platform's API says, not to a typed address


def _credentials(form: MultiDict) -> dict | None:
    """The reply credentials typed in, or None to keep the saved ones (the form never shows them)."""
    kind = form.get("auth", "keep")
    if kind == "keep":
        return None
    return {"kind": kind, "token": form.get("token", ""), "username": form.get("username", ""),
            "password": form.get("password", "")}


def _adapter_fields(kind: str, form: MultiDict) -> tuple[dict | None, dict | None]:
    """The adapter's settings and secrets typed in (a secret left blank: kept, or made by Arbor)."""
    if kind == "twilio":
        return ({"accountSid": form.get("account_sid", ""), "phoneNumber": form.get("phone_number", ""),
                 "publicUrl": form.get("public_url", "")}, {"authToken": form.get("auth_token", "")})
    if kind == "webex-connect":
        return None, {"accessToken": form.get("access_token", ""),
                      "verificationToken": form.get("verification_token", "")}
    if kind == "botframework":
        return ({key: form.get(field, "") for key, field in BOTFRAMEWORK_FIELDS.items()},
                {"appPassword": form.get("app_password", "")})
    return None, None


def _inbound_url(path: str) -> str:
    return (current_app.config.get("ARBOR_BASE_URL") or request.host_url).rstrip("/") + path


def _page(bot_id: str, status: int = 200, **shown):
    bot = get_bot_or_404(bot_id)
    found = [{**c, "inboundUrl": _inbound_url(c["inboundPath"]), "counts": delivery.counts(c["targetId"]),
              "log": delivery.deliveries_of(c["targetId"], limit=LOG_SIZE)} for c in connections.list_for(bot_id)]
    return render_template("designer/platforms.html", bot=bot, connections=found, rules=RULES, rule_help=RULE_HELP,
                           adapters=adapters.ADAPTERS, form=shown.pop("form", None) or MultiDict(),
                           base_url=_inbound_url(f"/b/{bot_id}/hooks/"), **shown), status


@bp.get("/bots/<bot_id>/platforms")
def platforms(bot_id: str):
    return _page(bot_id)


@bp.post("/bots/<bot_id>/platforms")
def platform_create(bot_id: str):
    get_bot_or_404(bot_id)
    form = request.form
    kind = form.get("kind", "arbor")
    settings, secrets = _adapter_fields(kind, form)
    try:
        made = connections.create(bot_id, form.get("slug", ""), form.get("name", ""), form.get("url", ""),
                                  rule=form.get("rule", ""), credentials=_credentials(form) or {"kind": "none"},
                                  kind=kind, settings=settings, secrets=secrets)
    except connections.PlatformError as e:
        return _page(bot_id, 422, error=str(e), form=MultiDict({k: v for k, v in form.items()
                                                                  if k not in SECRET_FIELDS}))
    # The tokens go into this answer only: never a flash (the session cookie) nor a later page.
    return _page(bot_id, 201, created={"connection": made.connection, "shown": made.shown,
                                       "inboundUrl": _inbound_url(made.connection["inboundPath"])})


@bp.post("/bots/<bot_id>/platforms/<slug>/<action>")
def platform_action(bot_id: str, slug: str, action: str):
    get_bot_or_404(bot_id)
    form = request.form
    try:
        if action == "edit":
            kind = connections.get(bot_id, slug)["kind"]
            settings, secrets = _adapter_fields(kind, form)
            connections.edit(bot_id, slug, name=form.get("name"),
                             url=None if kind in NO_REPLY_ADDRESS else form.get("url"), rule=form.get("rule"),
                             credentials=_credentials(form), settings=settings, secrets=secrets)
            flash("Saved.")
        elif action == "token":
            token = connections.regenerate_token(bot_id, slug)
            return _page(bot_id, regenerated={"slug": slug, "token": token})
        elif action == "test":
            flash(connections.check(bot_id, slug))
        elif action == "reverify":
            connections.reverify(bot_id, slug)
            flash("The connection is active again; replies owed to it are sent.")
        elif action == "delete":
            connections.delete(bot_id, slug)
            flash("Deleted the connection.")
        else:
            abort(404, f"There is no platform action '{action[:40]}'.")
    except connections.ConnectionNotFound as e:
        abort(404, str(e))
    except connections.PlatformError as e:
        return _page(bot_id, 422, error=str(e))
    return redirect(url_for("designer.platforms", bot_id=bot_id))

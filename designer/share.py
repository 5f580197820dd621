"""The Share panel, one click from Publish: the bot's share link (its demo page for anyone with the link), the
snippet that puts the chat on a website, and the websites allowed to open it, with "Add this website" filled
from where the chat was last refused. Who may open the bot may change these (agents may not, `accounts.guard`).
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from designer import bp
from designer.bots import get_bot_or_404
from runtime.channels import share_link
from runtime.channels.directline import refused_origins
from runtime.channels.directline.cors import allowed_origins, normalize_origin, origin_allowed, set_allowed_origins


def refused_websites(bot_id: str) -> list[refused_origins.Refusal]:
    """Where the chat was refused lately and still would be: a runtime fact the editor lists among the problems."""
    origins = allowed_origins(bot_id)
    return [r for r in refused_origins.recent(bot_id) if not origin_allowed(origins, r.origin)]


def _page(bot_id: str, status: int = 200, **extra):
    bot = get_bot_or_404(bot_id)
    origins = allowed_origins(bot_id)
    refused = refused_websites(bot_id)
    token = share_link.ensure(bot_id)
    return render_template("designer/share.html", bot=bot, origins=origins, refused=refused,
                           server=request.host_url.rstrip("/"),
                           link=url_for("demo.share", bot=bot_id, token=token, _external=True) if token else None,
                           website=refused[0].origin if refused else "", **extra), status


@bp.get("/bots/<bot_id>/share")
def share(bot_id: str):
    return _page(bot_id)


@bp.post("/bots/<bot_id>/share/link")
def share_link_new(bot_id: str):
    get_bot_or_404(bot_id)
    share_link.renew(bot_id)
    flash("A new share link is made. The old one no longer works.")
    return redirect(url_for("designer.share", bot_id=bot_id))


@bp.post("/bots/<bot_id>/share/link/off")
def share_link_off(bot_id: str):
    get_bot_or_404(bot_id)
    share_link.turn_off(bot_id)
    flash("The share link is turned off: nobody can open it any more. Make a new one to share again.")
    return redirect(url_for("designer.share", bot_id=bot_id))


@bp.post("/bots/<bot_id>/share/websites")
def share_website_add(bot_id: str):
    get_bot_or_404(bot_id)
    typed = request.form.get("website", "").strip()[:300]
    try:
        if not typed:
            raise ValueError("Write the website's address, like https://shop.example.")
        website = normalize_origin(typed)
        set_allowed_origins(bot_id, [*allowed_origins(bot_id), website])
    except ValueError as e:
        return _page(bot_id, 422, website_error=f"Website: {e}", website_typed=typed)
    refused_origins.forget(bot_id, website)
    flash(f"{website} may open the chat now. Reload your page there to chat.")
    return redirect(url_for("designer.share", bot_id=bot_id, _anchor="websites"))


@bp.post("/bots/<bot_id>/share/websites/remove")
def share_website_remove(bot_id: str):
    get_bot_or_404(bot_id)
    website = request.form.get("website", "")
    origins = allowed_origins(bot_id)
    if website not in origins:
        return _page(bot_id, 422, website_error=f"{website[:300]!r} is not among the websites allowed; reload the "
                                                "page to see the list as it is now.")
    set_allowed_origins(bot_id, [origin for origin in origins if origin != website])
    flash(f"{website} may no longer open the chat.")
    return redirect(url_for("designer.share", bot_id=bot_id, _anchor="websites"))

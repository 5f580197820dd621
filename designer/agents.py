"""The agent console: the live queue of handed-over conversations, accepting one, its whole transcript and
the user's data, replying (typed or a canned answer), closing so the bot takes over again.

Who may use it: agents (the only page they have), editors and admins, each for the bots they may open
(`bot_access`). What an agent does goes through `runtime.store.handovers`, as the management API's does.
The queue and an open conversation are live: the page listens to server-sent events (`console_live`) that say
when a turn of what it shows was committed, in any process (`runtime.channels.live`), and then fetches a small
partial: the queue with the version it shows, the transcript after a watermark (the last transcript sequence
number shown); both answer 204 when nothing changed. The partials still poll every 30 s, should the events stop.
Canned answers (`runtime.store.canned`) are edited by admins on the bot's settings page.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import datetime, timedelta

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask import session as signed_in_session
from flask_login import current_user
from htmx_flask import make_response
from sqlalchemy import select

from designer import bp
from designer.accounts import admin_required, for_agents
from designer.bots import get_bot_or_404
from designer.settings import _page as settings_page
from runtime.channels import live
from runtime.extensions import db
from runtime.store import bot_access, canned, handovers
from runtime.store.activities import seq_of
from runtime.store.models import Bot, HandoverSession, utcnow
from runtime.turns.transcript import transcript

QUEUES_KEY = "agent_queues"
LIVE_KEEPALIVE = 15  # seconds between the comments that keep an idle event stream open
RECENT = timedelta(days=1)  # the console lists the handovers that ended among those handed over this long ago


def me() -> dict:
    """The signed-in person as the handover store knows an agent (ids apart from contact-centre agents')."""
    return {"id": f"designer:{current_user.id}", "name": current_user.display_name}


def _session_or_404(session_id: str) -> HandoverSession:
    try:
        session = handovers.get(session_id)
    except handovers.HandoverNotFound as e:
        abort(404, str(e))
    if not bot_access.can_open(current_user, session.bot_id):
        abort(404, str(handovers.HandoverNotFound(session_id)))  # as if there were none, like other bots' pages
    return session


def _queue() -> dict:
    """What the queue partial shows: open sessions of the bots this person may open, oldest first (those past
    their timeout marked overdue), the handovers that ended lately, the last first (those nobody accepted in
    time as abandoned), and a version of what it shows (the poll sends it back and gets 204 while nothing
    changed)."""
    bot_ids = bot_access.bot_ids(current_user)
    chosen = _chosen_queues()
    # A conversation whose handover step names no queue is for every agent, whatever queues they picked.
    queues = [*chosen, None] if chosen else None
    now = utcnow()
    sessions = handovers.listed(bot_ids, queues=queues)
    ended = handovers.recently_closed(bot_ids, queues=queues, since=now - RECENT)
    shown_bots = {s.bot_id for s in [*sessions, *ended]}
    names = dict(db.session.execute(select(Bot.id, Bot.name).where(Bot.id.in_(shown_bots))).all()) if shown_bots else {}
    shown = [(s.id, s.status, s.agent_id, s.agent_name, waited(s.created_at, now), handovers.overdue(s, now))
             for s in sessions]
    shown_ended = [(s.id, s.close_reason, s.closed_by, waited(s.closed_at, now)) for s in ended]
    version = hashlib.blake2b(repr((shown, shown_ended, sorted(names.items()))).encode(), digest_size=8).hexdigest()
    return {"sessions": sessions, "ended": ended, "bot_names": names, "now": now, "me": me()["id"],
            "version": version, "no_bots": bot_ids == [], "chosen": chosen}


def _chosen_queues() -> list[str]:
    """The queues the agent answers; none picked: every queue. Picked on the console's page (`?pick=1&queue=…`,
    the queue repeated) and remembered in their session, so the poll and "Back to the queue" keep them."""
    if "pick" in request.args:
        picked = {name.strip()[:100] for name in request.args.getlist("queue")}
        signed_in_session[QUEUES_KEY] = sorted(picked - {""})
    return signed_in_session.get(QUEUES_KEY, [])


@bp.app_template_filter("waited")
def waited(since: datetime, now: datetime) -> str:
    """How long a session has waited, to the minute (so the queue changes at most once a minute by itself)."""
    minutes = max(0, int((now - since).total_seconds())) // 60
    if minutes < 1:
        return "under a minute"
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


@bp.app_template_filter("overdue")
def overdue(session: HandoverSession, now: datetime) -> bool:
    """Still waiting after its timeout (`handovers.overdue`)."""
    return handovers.overdue(session, now)


@bp.app_template_filter("span")
def span(seconds: int) -> str:
    """A handover's timeout in words: 45 s, 2 min, 1 min 30 s, 1 h 15 min."""
    minutes, rest = divmod(int(seconds), 60)
    if minutes < 1:
        return f"{rest} s"
    if rest:
        return f"{minutes} min {rest} s"
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h" + (f" {minutes % 60} min" if minutes % 60 else "")


@bp.app_template_filter("ended_as")
def ended_as(session: HandoverSession) -> str:
    """How a closed handover ended, in the console's words: abandoned (nobody accepted it within its timeout, so
    the bot went on), taken back by the bot (a trigger), or closed by an agent."""
    if session.close_reason == handovers.BY_TIMEOUT:
        limit = f"within {span(session.timeout)}" if session.timeout else "in time"
        return f"Abandoned — nobody accepted {limit}"
    if session.close_reason == handovers.BY_TRIGGER:
        return "Taken back by the bot (a trigger started another dialog)"
    who = session.closed_by or "an agent"
    return f"Closed by {who}" if session.accepted_at else f"Closed by {who} before anyone accepted it"


@bp.get("/agents")
@for_agents
def console():
    return _console_page()


def _console_page(**extra) -> str:
    """The console's page: the queues to tick and the queue."""
    queue = _queue()
    names = sorted(set(handovers.queue_names(bot_access.bot_ids(current_user))) | set(queue["chosen"]))
    return render_template("designer/agents.html", queues=names, **queue, **extra)


@bp.get("/agents/queue")
@for_agents
def console_queue():
    """The queue partial; 204 when it would show what the page has (`v`, the version it shows)."""
    queue = _queue()
    if request.args.get("v") == queue["version"]:
        return "", 204
    return render_template("designer/partials/_agent_queue.html", **queue)


@bp.get("/agents/live")
@for_agents
def console_live() -> Response:
    """Server-sent events for a console page: `changed` when a turn of what it shows was committed (the
    conversation of `session`; else any of this person's bots'), so the page fetches its partial at once;
    `typing` when the visitor of `session` is typing. A comment every LIVE_KEEPALIVE seconds keeps proxies from
    closing the idle response."""
    if request.args.get("session"):
        keys = [_session_or_404(request.args["session"]).conversation_id]
    else:
        bot_ids = bot_access.bot_ids(current_user)
        keys = [live.ALL_BOTS] if bot_ids is None else [live.bot_key(bot_id) for bot_id in bot_ids]
    hub = live.hub()

    def events():
        with hub.watching(*keys) as waiter:
            yield "retry: 2000\n\n"
            while True:
                yield from _events(waiter.wait(LIVE_KEEPALIVE))

    return Response(events(), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


def _events(notes: list[dict]) -> Iterator[str]:
    """The server-sent events for what the console heard (the bot's typing is for the visitor's widget only)."""
    if not notes:
        yield ": keep-alive\n\n"
    if any("typing" not in note for note in notes):
        yield "event: changed\ndata:\n\n"
    if any(note.get("typing") == "user" for note in notes):
        yield "event: typing\ndata:\n\n"


@bp.post("/agents/<session_id>/accept")
@for_agents
def console_accept(session_id: str):
    session = _session_or_404(session_id)
    try:
        handovers.accept(session.id, me())
    except handovers.HandoverError as e:
        return _console_page(error=str(e)), 409
    return redirect(url_for("designer.console_session", session_id=session_id))


def _entries(session: HandoverSession, after: int = 0) -> tuple[list[dict], int]:
    """The conversation's transcript after `after`, and the new watermark."""
    rows = [a for a in transcript(session.conversation_id, after) if a.get("type") in ("message", "event")]
    return rows, max([after, *(seq_of(a["id"]) for a in rows)])


def _view(session: HandoverSession, **extra) -> dict:
    rows, watermark = _entries(session)
    return {"session": session, "entries": rows, "after": watermark, "bot": get_bot_or_404(session.bot_id),
            "user_data": handovers.user_data(session), "answers": canned.listed(session.bot_id), "me": me()["id"],
            "now": utcnow(), **extra}


@bp.get("/agents/<session_id>")
@for_agents
def console_session(session_id: str):
    return render_template("designer/agent_session.html", **_view(_session_or_404(session_id)))


@bp.get("/agents/<session_id>/transcript")
@for_agents
def console_transcript(session_id: str):
    """What happened after the watermark `after`; 204 when nothing did and the session's status is as shown."""
    session = _session_or_404(session_id)
    after = request.args.get("after", "0")
    rows, watermark = _entries(session, int(after) if after.isdigit() else 0)
    changed = request.args.get("status") != session.status
    if not rows and not changed:
        return "", 204
    return render_template("designer/partials/_agent_updates.html", session=session, entries=rows, after=watermark,
                           changed=changed, answers=canned.listed(session.bot_id), me=me()["id"], now=utcnow())


@bp.post("/agents/<session_id>/reply")
@for_agents
def console_reply(session_id: str):
    session = _session_or_404(session_id)
    try:
        handovers.post(session.id, me(), request.form.get("text", ""))
    except handovers.CONFLICTS as e:
        return str(e), 409
    except handovers.HandoverError as e:  # the text: empty or too long
        return str(e), 400
    response = make_response("", 200)
    response.headers["HX-Trigger"] = "transcript-changed"
    return response


@bp.post("/agents/<session_id>/close")
@for_agents
def console_close(session_id: str):
    session = _session_or_404(session_id)
    if session.status == handovers.ACTIVE and session.agent_id != me()["id"] and not current_user.is_admin:
        message = f"{session.agent_name} has this conversation; only they or an administrator can close it."
        return render_template("designer/agent_session.html", error=message, **_view(session)), 409
    try:
        handovers.close(session.id, by=me())
    except handovers.HandoverError as e:
        return render_template("designer/agent_session.html", error=str(e), **_view(session)), 409
    flash("Closed. The bot has taken over the conversation again.")
    return redirect(url_for("designer.console_session", session_id=session_id))


@bp.post("/bots/<bot_id>/canned")
@admin_required
def canned_add(bot_id: str):
    get_bot_or_404(bot_id)
    try:
        canned.add(bot_id, request.form.get("text", ""))
    except ValueError as e:
        return settings_page(bot_id, 422, canned_error=str(e), canned_text=request.form.get("text", ""))
    flash("Canned answer added.")
    return redirect(url_for("designer.settings", bot_id=bot_id, _anchor="canned"))


@bp.post("/bots/<bot_id>/canned/remove")
@admin_required
def canned_remove(bot_id: str):
    get_bot_or_404(bot_id)
    canned.remove(bot_id, request.form.get("text", ""))
    flash("Canned answer removed.")
    return redirect(url_for("designer.settings", bot_id=bot_id, _anchor="canned"))

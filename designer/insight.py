"""Insight: the counts drawn on the tree, the Insight page (conversations per day and per language, goal
completion and where users went, both splittable by the visitor's language, top NLP misses, transcript search,
CSV of each table) and the page that learns from misses. The numbers come
from `runtime.insight`; this module only picks the period and draws them."""

from __future__ import annotations

from datetime import date

from flask import Response, flash, redirect, render_template, request, url_for

from designer import bp
from designer.bots import get_bot_or_404
from designer.drafting import current
from designer.labels import summary
from runtime import botdoc
from runtime.botdoc import translations
from runtime.botdoc.walk import steps as walk_steps
from runtime.extensions import db
from runtime.insight import analytics, misses, reach, transcripts
from runtime.insight.period import Period
from runtime.store.models import Conversation

DEFAULT_DAYS = 30
TABLES = ("days", "languages", "tree", "goal", "misses", "transcripts")


def period_asked() -> Period:
    """The period of the request: `from` and `to` dates, else the last `days` days (30 by default)."""
    first, last = request.args.get("from"), request.args.get("to")
    if first or last:
        try:
            return Period(date.fromisoformat(first or last), date.fromisoformat(last or first))
        except ValueError as e:
            raise ValueError(str(e) if "period" in str(e) else "Give dates as YYYY-MM-DD.") from e
    days = request.args.get("days", DEFAULT_DAYS, type=int) or DEFAULT_DAYS
    return Period.last_days(max(1, min(days, 366)))


def step_bars(bot_id: str, doc: dict, period: Period) -> dict[str, dict]:
    """Per step: reached and stopped, with bar lengths in percent. A step's bar is its reach relative to
    its dialog's first step (the most reached step of the dialog when nobody reached the first)."""
    counts = reach.tree_counts(bot_id, period)
    bars: dict[str, dict] = {}
    for dialog in doc.get("dialogs", []):
        ids = [s["id"] for s in _steps({"dialogs": [dialog]})]
        first = (dialog.get("steps") or [{}])[0].get("id")
        base = (counts[first].reached if first in counts else 0) or max(
            (counts[i].reached for i in ids if i in counts), default=0) or 1
        for step_id in ids:
            c = counts.get(step_id, reach.StepCount())
            reached = min(100.0, 100.0 * c.reached / base)
            bars[step_id] = {"reached": c.reached, "stopped": c.stopped, "width": round(reached, 1),
                             "stop": round(reached * c.drop_off, 1), "dropOff": round(100 * c.drop_off)}
    return bars


def _steps(doc: dict) -> list[dict]:
    return [s for _, s, _ in walk_steps(doc) if isinstance(s, dict) and "id" in s]


def _all_steps(doc: dict) -> list[tuple[str, str]]:
    """(id, label) of every step, for picking the goal."""
    return [(s["id"], f"{s['id']}: {summary(s)}"[:90]) for s in _steps(doc)]


def _search_args() -> dict:
    args = request.args
    storage = (args.get("storage", "").strip(), args.get("value", ""))
    return {"user": args.get("user", "").strip() or None, "text": args.get("text", "").strip() or None,
            "storage": storage if storage[0] else None}


def _language_asked(languages: list[str]) -> reach.Language | None:
    """The language the page splits by (`language`, one of the bot's), or None for all."""
    asked = request.args.get("language", "")
    return reach.Language(asked, languages[0]) if asked in languages else None


def _tables(bot_id: str, period: Period, goal: str | None) -> dict[str, list[dict]]:
    search = _search_args()
    languages = translations.languages(current(bot_id)[0])
    language = _language_asked(languages)
    return {
        "days": analytics.conversations_per_day(bot_id, period),
        "languages": analytics.conversations_per_language(bot_id, period, languages[0]),
        "tree": analytics.tree(bot_id, period, language=language),
        "goal": [analytics.goal_completion(bot_id, goal, period, language=language)] if goal else [],
        "misses": analytics.top_nlp_misses(bot_id, period),
        "transcripts": transcripts.search(bot_id, period=period, **search) if any(search.values()) else [],
    }


def chart(days: list[dict], width: int = 720, height: int = 160) -> dict:
    """Bars of conversations per day, in SVG coordinates."""
    top = max((d["conversations"] for d in days), default=0)
    step = width / max(1, len(days))
    bars = [{"x": round(i * step + 1, 1), "w": round(max(1.0, step - 2), 1), "day": d["day"], "n": d["conversations"],
             "h": round((height - 20) * d["conversations"] / top, 1) if top else 0} for i, d in enumerate(days)]
    return {"width": width, "height": height, "bars": bars, "top": top}


@bp.get("/bots/<bot_id>/insight")
def insight(bot_id: str):
    bot = get_bot_or_404(bot_id)
    doc, _ = current(bot_id)
    try:
        period = period_asked()
    except ValueError as e:
        return render_template("designer/insight.html", bot=bot, error=str(e), steps=_all_steps(doc),
                               args=request.args), 422
    goal = request.args.get("goal") or None
    tables = _tables(bot_id, period, goal)
    steps, conversation = _all_steps(doc), request.args.get("conversation")
    lines = transcripts.lines(conversation) if conversation and _owned(bot_id, conversation) else None
    return render_template("designer/insight.html", bot=bot, period=period, tables=tables, goal=goal,
                           languages=translations.languages(doc), language=request.args.get("language", ""),
                           chart=chart(tables["days"]), steps=steps, step_labels=dict(steps), args=request.args,
                           searched=any(_search_args().values()), conversation=conversation, lines=lines)


def _owned(bot_id: str, conversation_id: str) -> bool:
    found = db.session.get(Conversation, conversation_id)
    return found is not None and found.bot_id == bot_id


@bp.get("/bots/<bot_id>/insight/<table>.csv")
def insight_csv(bot_id: str, table: str):
    get_bot_or_404(bot_id)
    if table not in TABLES:
        return Response(f"No table '{table}'; pick one of {', '.join(TABLES)}.", 404, mimetype="text/plain")
    try:
        period = period_asked()
    except ValueError as e:
        return Response(str(e), 422, mimetype="text/plain")
    rows = _tables(bot_id, period, request.args.get("goal") or None)[table]
    columns = {"days": ["day", "conversations"], "languages": ["language", "conversations"],
               "tree": ["step", "reached", "stopped", "dropOff"],
               "goal": ["goal", "conversations", "reached", "rate"], "misses": ["text", "count", "step", "lastSeen"],
               "transcripts": ["conversation", "user", "channel", "started", "lastActivity"]}[table]
    name = f"{bot_id}-{table}-{period.first}-{period.last}.csv"
    return Response(analytics.csv_text(rows, columns), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


# --- learning from misses ------------------------------------------------------------------------

@bp.get("/bots/<bot_id>/misses", endpoint="misses")
def misses_page(bot_id: str, status: int = 200, error: str | None = None):
    bot = get_bot_or_404(bot_id)
    doc, _ = current(bot_id)
    by_id = {s["id"]: s for s in _steps(doc)}
    found = misses.list_misses(bot_id)
    targets = {}
    for miss in found:
        step = by_id.get(miss.step) or {}
        items = step.get({"choice": "options", "faq": "questions"}.get(step.get("type"), ""), [])
        targets[(miss.kind, miss.id)] = [(i, item.get("title") or item.get("question") or f"#{i + 1}")
                                         for i, item in enumerate(items) if isinstance(item, dict)]
    return render_template("designer/misses.html", bot=bot, misses=found, targets=targets, error=error), status


@bp.post("/bots/<bot_id>/misses/<kind>/<bigint:miss_id>/learn")
def miss_learn(bot_id: str, kind: str, miss_id: int):
    get_bot_or_404(bot_id)
    try:
        misses.learn(bot_id, kind, miss_id, target=request.form.get("target", -1, type=int))
    except (misses.MissError, botdoc.DocumentError) as e:
        return misses_page(bot_id, 404 if isinstance(e, misses.MissNotFound) else 422, error=_reason(e))
    flash("Added as a phrasing to the draft. Publish the bot to put it live.")
    return redirect(url_for("designer.misses", bot_id=bot_id))


@bp.post("/bots/<bot_id>/misses/<kind>/<bigint:miss_id>/dismiss")
def miss_dismiss(bot_id: str, kind: str, miss_id: int):
    get_bot_or_404(bot_id)
    try:
        misses.dismiss(bot_id, kind, miss_id)
    except misses.MissError as e:
        return misses_page(bot_id, 404, error=str(e))
    flash("Dismissed.")
    return redirect(url_for("designer.misses", bot_id=bot_id))


def _reason(error: Exception) -> str:
    if isinstance(error, botdoc.DocumentError):
        return "; ".join(p.message for p in error.problems[:3]) or str(error)
    return str(error)

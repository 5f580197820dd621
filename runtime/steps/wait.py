"""wait: pause until the page sends one of some events, or until a timeout passes."""

from __future__ import annotations

from . import schema
from ._words import short
from .base import Context, Enter, Next, NotUnderstood, Outcome, Wait

TYPE = "wait"
ACCEPTS = ("message", "event", "timeout")
TIMED = True  # its timer is cancelled when a trigger takes the conversation elsewhere
TITLE = "Wait for the page"
DESCRIPTION = "Pause until the web page sends an event (checkout done) or until some time passes."
ABBREVIATION = "Wait"  # the badge on its node in the tree
# A new step's values: ready to edit.
START = {"events": [], "timeout": 300, "onEvent": [], "onTimeout": []}
# The form's labels (templates/designer/steps/wait.html shows them; problems name fields by them).
LABELS = {
    "events": "Wait for these page events",
    "timeout": "Give up after (seconds)",
}
SCHEMA = schema.step(TYPE, {
    "events": {"type": "array", "maxItems": 20, "uniqueItems": True,
               "items": {"type": "string", "pattern": r"^[A-Za-z0-9_.:-]{1,100}$"}},
    "timeout": {"type": "integer", "minimum": 1, "maximum": 30 * 24 * 3600,
                "description": "Seconds to wait before the 'on timeout' steps run."},
    "onEvent": schema.STEPS,
    "onTimeout": schema.STEPS,
})


def run(step: dict, ctx: Context) -> Outcome:
    if step.get("timeout"):
        ctx.effect({"type": "timer.start", "step": step["id"], "seconds": step["timeout"]})
    return Wait()


def reask(step: dict, ctx: Context, memo: dict) -> Outcome:
    """Back from the fallback: keep waiting; the timer started first still stands."""
    return Wait(memo)


def resume(step: dict, ctx: Context, memo: dict) -> Outcome:
    inp = ctx.input
    if inp.kind == "timeout":
        return _enter(step.get("onTimeout"))
    if inp.kind == "event":
        if inp.name not in step.get("events", []):
            return Wait(memo)
        if step.get("timeout"):
            ctx.effect({"type": "timer.cancel", "step": step["id"]})
        return _enter(step.get("onEvent"))
    return NotUnderstood()


def _enter(steps: list | None) -> Outcome:
    return Enter(steps) if steps else Next()


def branches(step: dict):
    for key in ("onEvent", "onTimeout"):
        if step.get(key) is not None:
            yield f"/{key}", step[key]


def summary(step: dict) -> str:
    events = ", ".join(step.get("events") or []) or "an event"
    timeout = f" or {step['timeout']} s" if step.get("timeout") else ""
    return short(f"Wait for {events}{timeout}")


def branch_label(step: dict, slot: list[str]) -> str:
    return {"onEvent": "When the page sends the event", "onTimeout": "When the time is up"}.get(slot[0], slot[0])


def problems(step: dict, doc: dict, dialogs: dict):
    if not step.get("events") and not step.get("timeout"):
        yield "", (f"A wait needs “{LABELS['events']}”, “{LABELS['timeout']}”, or both: fill in at least one.")

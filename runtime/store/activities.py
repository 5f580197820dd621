"""Stamping: what every transcript activity carries, whichever channel it came by or goes to.

Ids are `<conversation id>|<seq>` so a channel can turn any activity back into its place in the
transcript (the Direct Line watermark). Timestamps strictly increase within a conversation:
WebChat orders the transcript by them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from runtime.steps.base import Input

TICK = timedelta(microseconds=1)
ARBOR = {"id": "arbor", "role": "channel"}  # the sender of inputs no person sent


def activity_id(conversation_id: str, seq: int) -> str:
    return f"{conversation_id}|{seq:07d}"


def seq_of(activity_id: str) -> int:
    """The transcript sequence number inside an activity id (the inverse of `activity_id`)."""
    return int(activity_id.rpartition("|")[2])


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with microseconds, as the Bot Framework writes it."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def stamp(activity: dict, *, conversation_id: str, seq: int, moment: datetime, sender: dict,
          channel: str) -> dict:
    """A copy of `activity` with its transcript id, time, conversation and channel; `from` kept if set."""
    return {
        **activity,
        "id": activity_id(conversation_id, seq),
        "timestamp": iso(moment),
        "conversation": {"id": conversation_id},
        "from": activity.get("from") or sender,
        "channelId": channel,
    }


SERVER_CHANNEL_DATA = ("arbor", "delivery")  # what only Arbor writes in channelData: who spoke, delivery status


def from_outside(activity: dict, user_id: str) -> dict:
    """A copy of an activity a client or platform sent, with every field only Arbor may set made Arbor's.

    Whoever posts through a user's conversation is that user: `from` becomes the conversation's user with
    the role `user` (a string `name` the client gave is kept, WebChat sends one), so nobody poses as the bot
    (`role: bot`) or the channel; `channelData.arbor` (an agent's name, a notice, a handover) and
    `channelData.delivery` (a platform's delivery status) are dropped. Ids, time, conversation and channel
    are stamped over by `stamp`.
    """
    sender = activity.get("from")
    name = sender.get("name") if isinstance(sender, dict) else None
    made = {**activity, "from": {"id": user_id, **({"name": name} if isinstance(name, str) else {}),
                                 "role": "user"}}
    channel_data = activity.get("channelData")
    if isinstance(channel_data, dict) and any(key in channel_data for key in SERVER_CHANNEL_DATA):
        made["channelData"] = {k: v for k, v in channel_data.items() if k not in SERVER_CHANNEL_DATA}
    elif channel_data is not None and not isinstance(channel_data, dict):
        del made["channelData"]
    return made


def from_input(inp: Input) -> dict:
    """The activity that stands in the transcript for an input that came without one.

    Triggers, timer timeouts and integration results come from Arbor itself, not the user: they become `arbor.*` events
    sent by `ARBOR` (a channel may leave them out of what it shows).
    """
    if inp.kind == "message":
        return _without_none({"type": "message", "text": inp.text, "value": inp.value})
    if inp.kind == "event":
        return _without_none({"type": "event", "name": inp.name, "value": inp.value})
    if inp.kind == "trigger":
        return {"type": "event", "name": "arbor.trigger", "from": ARBOR,
                "value": {"dialog": inp.dialog, "value": inp.value, "clear": inp.clear}}
    if inp.kind == "timeout":
        return {"type": "event", "name": "arbor.timeout", "from": ARBOR, "value": {"step": inp.step}}
    if inp.kind == "result":
        return {"type": "event", "name": "arbor.result", "from": ARBOR,
                "value": {"step": inp.step, "ok": bool((inp.value or {}).get("ok"))}}
    raise ValueError(f"unknown input kind {inp.kind!r}")


def from_user(inp: Input) -> bool:
    """Whether the input was said or done by the user (rather than a trigger or a timer)."""
    return inp.kind in ("message", "event")


def _without_none(activity: dict) -> dict:
    return {key: value for key, value in activity.items() if value is not None}

"""Each bot's outbox settings: its SMTP server (`email` steps) and its SMS provider (`sms` steps).

Kept in the bot's settings (`settings["smtp"]`, `settings["sms"]`). The SMTP password and the SMS
provider's token are bot secrets: stored encrypted (Fernet, a key derived from SECRET_KEY for this one
purpose, `keys.fernet`), decrypted only by the job that sends, and never shown back: `shown` says only
whether one is set.
"""

from __future__ import annotations

from typing import Any

from cryptography.fernet import InvalidToken

from runtime.keys import fernet
from runtime.store.bots import change_setting, get_bot

SECRET_FIELDS = {"smtp": "password", "sms": "token"}
# What each secret is bound to: it was entered for these, and goes nowhere else (a changed one clears it).
DESTINATION = {"smtp": ("host", "port"), "sms": ("baseUrl",)}
SMTP_SECURITY = ("starttls", "ssl", "none")
TWILIO = "https://api.twilio.com"
PURPOSE = "bot-outbox-secret"  # the key of the sealed secrets: changing it loses them


class SettingsMissing(LookupError):
    def __init__(self, bot_id: str, kind: str):
        what = "SMTP server" if kind == "smtp" else "SMS provider"
        super().__init__(f"Bot '{bot_id}' has no {what} set up: flask --app app outbox {kind} {bot_id} --help.")


class SettingsIncomplete(ValueError):
    """Settings that cannot be used as they are (a secret cleared or unreadable): the message says what to set."""


def set_smtp(bot_id: str, *, host: str, port: int = 587, security: str = "starttls", username: str | None = None,
             password: str | None = None, sender: str) -> None:
    """Set the bot's SMTP server; `sender` is the From address of its e-mails. Raises BotNotFound, ValueError."""
    if security not in SMTP_SECURITY:
        raise ValueError(f"security must be one of {', '.join(SMTP_SECURITY)}, not '{security}'.")
    if not host or not 0 < port < 65536 or "@" not in sender:
        raise ValueError("An SMTP server needs a host, a port from 1 to 65535 and a From address.")
    _save(bot_id, "smtp", {"host": host, "port": port, "security": security, "username": username,
                           "from": sender}, password)


def set_sms(bot_id: str, *, account: str, token: str | None, sender: str, base_url: str = TWILIO,
            provider: str = "twilio") -> None:
    """Set the bot's SMS provider: a Twilio-compatible Messages API (account SID, auth token, From number)."""
    if not account or not sender or not base_url.startswith(("https://", "http://")):
        raise ValueError("An SMS provider needs an account, a From number and an http(s) base URL.")
    _save(bot_id, "sms", {"provider": provider, "baseUrl": base_url.rstrip("/"), "account": account,
                          "from": sender}, token)


def settings(bot_id: str, kind: str) -> dict[str, Any]:
    """The settings of `kind` ("smtp" or "sms") with the secret decrypted, for the job that sends."""
    found = dict((get_bot(bot_id).settings or {}).get(kind) or {})
    if not found:
        raise SettingsMissing(bot_id, kind)
    sealed = found.pop("sealed", None)
    try:
        found[SECRET_FIELDS[kind]] = fernet(PURPOSE).decrypt(sealed.encode()).decode() if sealed else None
    except InvalidToken:
        raise SettingsIncomplete(f"The {kind} secret of bot '{bot_id}' was encrypted with another SECRET_KEY; "
                         f"set it again.") from None
    return found


def shown(bot_id: str, kind: str) -> dict[str, Any]:
    """The settings as they may be shown (the designer, the CLI): the secret only as set or not."""
    found = dict((get_bot(bot_id).settings or {}).get(kind) or {})
    if found:
        found[f"{SECRET_FIELDS[kind]}Set"] = bool(found.pop("sealed", None))
    return found


def _save(bot_id: str, kind: str, values: dict, secret: str | None) -> None:
    """Replace the settings of `kind`; a secret left out (None) keeps the one set before, but only while its
    destination (SMTP host and port, SMS base URL) stays the same: a secret is bound to where it was entered
    for, so pointing the settings elsewhere without entering it again clears it."""

    def changed(before: dict | None) -> dict:
        before = before or {}
        kept = before.get("sealed") if _destination(kind, before) == _destination(kind, values) else None
        sealed = fernet(PURPOSE).encrypt(secret.encode()).decode() if secret else kept
        return {**values, "sealed": sealed}

    change_setting(bot_id, kind, changed)


def _destination(kind: str, values: dict) -> tuple:
    """Where the secret of `kind` goes: compared case-blind for host names, the port as a number."""
    found = []
    for name in DESTINATION[kind]:
        value = values.get(name)
        found.append(str(value).strip().lower().rstrip("./") if name != "port" else int(value or 0))
    return tuple(found)

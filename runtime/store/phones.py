"""A platform user's phone number, when their address on the channel is one (`user.phone` in a bot)."""

from __future__ import annotations

import re

PHONE = re.compile(r"^(?:whatsapp:)?(\+?[1-9]\d{5,14})$")
PLATFORM = "platform"


def phone_of(user_id: str, channel: str) -> str | None:
    """The E.164 number of a platform conversation's user (`<service>:<address>`, the address a number, with
    or without WhatsApp's `whatsapp:` prefix); None for another user."""
    if channel != PLATFORM:
        return None
    found = PHONE.match(user_id.partition(":")[2])
    if found is None:
        return None
    digits = found.group(1)
    return digits if digits.startswith("+") else "+" + digits

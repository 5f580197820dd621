"""One adapter per platform's wire format over the one platform channel (`base.Adapter`), by the
connection's `kind`: `arbor` (Arbor's own JSON), `webex-connect` (Webex Connect's Generic Bot / IMI Bot),
`twilio` (Twilio Programmable Messaging: SMS and WhatsApp)."""

from __future__ import annotations

from runtime.channels.platforms.adapters.arbor import ArborJson
from runtime.channels.platforms.adapters.base import Adapter
from runtime.channels.platforms.adapters.twilio import Twilio
from runtime.channels.platforms.adapters.webex_connect import WebexConnect

ADAPTERS: dict[str, Adapter] = {adapter.kind: adapter for adapter in (ArborJson(), WebexConnect(), Twilio())}
KINDS = tuple(ADAPTERS)


def of(kind: str) -> Adapter:
    return ADAPTERS[kind]

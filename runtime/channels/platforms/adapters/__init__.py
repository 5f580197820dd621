"""One adapter per platform's wire format over the one platform channel (`base.Adapter`), by the
connection's `kind`: `arbor` (Arbor's own JSON), `webex-connect` (Webex Connect's Generic Bot / IMI Bot),
`twilio` (Twilio Programmable Messaging: SMS and WhatsApp), `botframework` (Microsoft Bot Framework: Azure Bot
Service, and through it Teams, Slack, Facebook)."""

from __future__ import annotations

from runtime.channels.platforms.adapters.arbor import ArborJson
from runtime.channels.platforms.adapters.base import Adapter
from runtime.channels.platforms.adapters.botframework import BotFramework
from runtime.channels.platforms.adapters.twilio import Twilio
from runtime.channels.platforms.adapters.webex_connect import WebexConnect

ADAPTERS: dict[str, Adapter] = {adapter.kind: adapter
                                for adapter in (ArborJson(), WebexConnect(), Twilio(), BotFramework())}
KINDS = tuple(ADAPTERS)


def of(kind: str) -> Adapter:
    return ADAPTERS[kind]

"""Fixtures for engine tests: a conversation driven through the pure engine."""

from __future__ import annotations

import pytest
from chatting import Chat
from golden import load_doc


@pytest.fixture
def chat():
    """chat("support") or chat(doc): a conversation that has just started."""
    def make(bot: str | dict, **kwargs) -> Chat:
        return Chat(load_doc(bot) if isinstance(bot, str) else bot, **kwargs)
    return make

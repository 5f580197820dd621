"""What can go wrong in an integration call, each with a message fit for the log and the bot's author."""

from __future__ import annotations


class IntegrationError(Exception):
    """A call that did not give a usable result; the message says what happened in plain words."""


class Refused(IntegrationError):
    """The guard refused an address (loopback, private, link-local, metadata) or a scheme."""


class TooBig(IntegrationError):
    """The response was larger than INTEGRATIONS_MAX_RESPONSE_BYTES."""


class TimedOut(IntegrationError):
    """The outside system did not answer within the step's timeout."""

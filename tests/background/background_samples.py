"""Job functions for the queue tests, enqueued by dotted path."""


def fail(message: str) -> None:
    raise RuntimeError(message)

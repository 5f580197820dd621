"""A real SMTP server (aiosmtpd) on a port the system picks as it starts listening.

aiosmtpd's Controller listens on the port it is given and then checks its server by connecting to that port.
The tests used to pick a free port, let it go, and hand it over; under the full suite another test could take
it in between. Here the server listens on port 0 and the port is read back from its socket before the check.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aiosmtpd.controller import Controller


class SmtpServer(Controller):
    """aiosmtpd's threaded server on `hostname` and a free port, named by `port` once started."""

    def __init__(self, handler: Any, hostname: str = "127.0.0.1", **options: Any):
        super().__init__(handler, hostname=hostname, port=0, **options)

    def _trigger_server(self) -> None:
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@contextmanager
def serving(handler: Any, hostname: str = "127.0.0.1", **options: Any) -> Iterator[SmtpServer]:
    """An SMTP server with `handler` (aiosmtpd's hooks) for the block; `options` go to aiosmtpd (authenticator...)."""
    server = SmtpServer(handler, hostname, **options)
    server.start()
    try:
        yield server
    finally:
        server.stop()

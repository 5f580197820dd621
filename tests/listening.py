"""A loopback port for a web server started as a child process, opened here and handed over (gunicorn's
`fd://` bind), so no other test can take it between choosing it and the server listening.

Choosing a free port and letting it go for the child to bind raced with the rest of the suite: a port taken in
between failed the server's start, or, worse, had the test talk to another test's server."""

from __future__ import annotations

import socket


class HeldPort:
    """A listening socket on 127.0.0.1 and a port the system chose; `bind` is what gunicorn's ARBOR_BIND takes,
    `pass_fds` what the child must inherit. `close()` the parent's copy once the child has started."""

    def __init__(self):
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.bind = f"fd://{self.socket.fileno()}"
        self.pass_fds = (self.socket.fileno(),)

    def close(self) -> None:
        self.socket.close()

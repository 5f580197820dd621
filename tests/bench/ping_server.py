"""A tiny JSON API in a process of its own for the integration benchmark: `GET /ping` -> {"pong": true}.

Apart from the benchmark's process, so its work never competes for that process's GIL (a server thread
inside it would add its switching delays to whatever is timed). HTTP/1.1 with keep-alive, as APIs answer.
Prints its port on the first line of stdout.
"""

from __future__ import annotations

import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BODY = b'{"pong": true}'


class Ping(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms wait for a delayed ACK

    def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, *args) -> None:
        pass


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", 0), Ping)
    print(server.server_address[1], flush=True)
    sys.stdout.close()
    server.serve_forever()

"""Loopback servers that stand in for what cannot run here.

- ``RawFileServer``: a provider's raw-file endpoint (GitHub, GitLab, Gist), at
  the providers' real URL shapes, with faults on demand.
- ``LoopbackServer``: what both build on, and the Kubernetes API
  (fakes/kube_api.py) too.

Both listen on loopback only (127.0.0.1 unless told another loopback
address), on a free port, in a daemon thread.
"""

from __future__ import annotations

import gzip
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without this, Nagle's
        # algorithm and the client's delayed ACK add 40 ms to every answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *args: Any) -> None:  # keep test output clean
        pass

    def _send(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in getattr(self.server.owner, "headers", {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self.server.owner.handle(self, "GET")

    def do_POST(self) -> None:
        self.server.owner.handle(self, "POST")

    def do_PUT(self) -> None:
        self.server.owner.handle(self, "PUT")

    def do_PATCH(self) -> None:
        self.server.owner.handle(self, "PATCH")

    def do_DELETE(self) -> None:
        self.server.owner.handle(self, "DELETE")


class _QuietServer(ThreadingHTTPServer):
    """A client that hangs up mid-request (a watch or a notebook poll ended
    by its process) is normal here, not a traceback on stderr."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class LoopbackServer:
    """An HTTP server on 127.0.0.1 (or another loopback address, such as
    127.0.0.2 on Linux, to stand for a second host) in a thread; use as a
    context manager."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self._lock = threading.Lock()
        self._server = _QuietServer((host, 0), _Handler)
        self._server.owner = self
        self.url = f"http://{host}:{self._server.server_port}"
        #: Set when the server stops: a request held on purpose lets go.
        self.stopping = threading.Event()

    def __enter__(self):
        # serve_forever's default 0.5 s poll would make every exit wait that long.
        threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
        ).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def handle(self, request: _Handler, method: str) -> None:
        with self._lock:
            self.requests.append((method, request.path, dict(request.headers)))
        self.respond(request, method)

    def respond(self, request: _Handler, method: str) -> None:  # pragma: no cover
        raise NotImplementedError


class RawFileServer(LoopbackServer):
    """Serves files at exact request paths; ``faults`` maps a path to a failure.

    ``redirects`` maps a path to a Location (302), e.g. on another stand-in;
    ``gzipped`` maps a path to bytes sent gzip-compressed with
    ``Content-Encoding: gzip``, whatever the request asked for.
    """

    def __init__(self, host: str = "127.0.0.1") -> None:
        super().__init__(host)
        self.files: dict[str, bytes] = {}
        self.redirects: dict[str, str] = {}
        self.gzipped: dict[str, bytes] = {}
        #: Served at any path not in ``files`` (None: 404 there).
        self.any_path: bytes | None = None
        self.faults: dict[str, str] = {}
        self.required_headers: dict[str, str] = {}
        #: Sent with every answer, e.g. the header a loaded hub adds.
        self.headers: dict[str, str] = {}

    def respond(self, request: _Handler, method: str) -> None:
        path = request.path
        for name, value in self.required_headers.items():
            if request.headers.get(name) != value:
                request._send(404, b"Not Found")  # what GitHub answers for private
                return
        fault = self.faults.get(path)
        if path in self.redirects:
            request.send_response(302)
            request.send_header("Location", self.redirects[path])
            request.send_header("Content-Length", "0")
            request.end_headers()
        elif path in self.gzipped:
            body = gzip.compress(self.gzipped[path])
            request.send_response(200)
            request.send_header("Content-Encoding", "gzip")
            request.send_header("Content-Length", str(len(body)))
            request.end_headers()
            request.wfile.write(body)
        elif fault == "slow":  # answers only when the server stops (or in 60 s)
            self.stopping.wait(60)
            request._send(200, b"cpur=1\n")
        elif fault == "error":
            request._send(500, b"Internal Server Error")
        elif fault == "huge":
            request._send(200, b"#" * (200 * 1024))
        elif fault == "huge-chunked":  # no Content-Length to tell the size
            request.send_response(200)
            request.send_header("Transfer-Encoding", "chunked")
            request.end_headers()
            chunk = b"#" * 8192
            for _ in range(25):
                request.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            request.wfile.write(b"0\r\n\r\n")
        elif fault == "redirect-loop":
            request.send_response(302)
            request.send_header("Location", path)
            request.send_header("Content-Length", "0")
            request.end_headers()
        elif path in self.files:
            request._send(200, self.files[path])
        elif self.any_path is not None:
            request._send(200, self.any_path)
        else:
            request._send(404, b"404: Not Found")

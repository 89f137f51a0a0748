"""Real receivers on 127.0.0.1 for webhook tests: one that records every request and answers with the
statuses it is told (200 once they run out), over plain HTTP or TLS; and a dead one that accepts
connections and never answers."""

import contextlib
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    observed: object = None
    """What the receiver's ``observe`` returned when the request came in."""


@dataclass
class Receiver:
    url: str
    port: int
    requests: list[Received] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    observe: Callable[[], object] = lambda: None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_answer(self, request: Received) -> int:
        with self.lock:
            self.requests.append(request)
            return self.answers.pop(0) if self.answers else 200


@contextmanager
def running_receiver(tls: ssl.SSLContext | None = None, host: str = "127.0.0.1") -> Iterator[Receiver]:
    """A receiver at ``http://127.0.0.1:<port>/hooks``, or ``https://<host>:<port>/hooks`` with ``tls``."""
    receiver: Receiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            request = Received(self.path, dict(self.headers.items()), body, receiver.observe())
            self.send_response(receiver.next_answer(request))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the test reads the recorded requests instead."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    port = server.server_address[1]
    receiver = Receiver(url=f"{'https' if tls else 'http'}://{host}:{port}/hooks", port=port)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@dataclass
class DeadReceiver:
    url: str
    hung_up: int = 0
    """Connections the client has given up on (closed) so far."""


@contextmanager
def dead_receiver() -> Iterator[DeadReceiver]:
    """A port on 127.0.0.1 that accepts connections, reads what is sent and never answers."""
    listener = socket.create_server(("127.0.0.1", 0))
    dead = DeadReceiver(url=f"http://127.0.0.1:{listener.getsockname()[1]}/hooks")
    lock = threading.Lock()

    def drain(connection: socket.socket) -> None:
        with connection, contextlib.suppress(OSError):
            while connection.recv(65536):
                pass
        with lock:
            dead.hung_up += 1

    def accept() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:  # closed: the test is over
                return
            threading.Thread(target=drain, args=(connection,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield dead
    finally:
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept
        listener.close()
        thread.join()

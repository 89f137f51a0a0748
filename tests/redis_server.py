"""A throwaway Redis server for the test suite: ``redis-server`` on a free loopback port in a temporary
directory, nothing saved to disk, stopped at the end of the session. Installed by
``scripts/ensure-services``."""

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class RedisUnavailable(RuntimeError):
    """Why the Redis run cannot happen on this machine."""


@contextmanager
def redis_server() -> Iterator[str]:
    """The URL of a running, empty Redis server."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RedisUnavailable("redis-server is not installed (scripts/ensure-services installs it)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    root = Path(tempfile.mkdtemp(prefix="hashmatch-redis-"))
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(root), "--save", ""]
    server = subprocess.Popen([*command, "--appendonly", "no"], stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            if server.poll() is not None:
                raise RedisUnavailable(f"redis-server exited with {server.returncode}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RedisUnavailable("redis-server did not listen within 10 s") from None
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.kill()
        server.wait(timeout=10)
        shutil.rmtree(root, ignore_errors=True)

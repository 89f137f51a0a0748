"""A real S3 API server for the test suite: moto's server mode on a free loopback port, started once
per session (as tests/postgres.py starts PostgreSQL). The client is the real s3fs; nothing is mocked."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import count

import httpx

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


class S3Server:
    """A running moto server; :meth:`fresh_store` is a new, empty bucket."""

    def __init__(self, endpoint_url: str) -> None:
        self.endpoint_url = endpoint_url
        self._names = count(1)

    def fresh_store(self) -> str:
        """The URL of an index store in a new, empty bucket."""
        import s3fs  # noqa: PLC0415

        bucket = f"indexes-{os.getpid()}-{next(self._names)}"
        s3fs.S3FileSystem(endpoint_url=self.endpoint_url, skip_instance_cache=True).mkdir(bucket)
        return f"s3://{bucket}/hashmatch"


@contextmanager
def s3_server() -> Iterator[S3Server]:
    """moto's server on a free port, with test credentials in the environment, until the end."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    saved = {name: os.environ.get(name) for name in CREDENTIALS}
    os.environ.update(CREDENTIALS)
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(endpoint, timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto's S3 server did not start") from None
                time.sleep(0.1)
        yield S3Server(endpoint)
    finally:
        process.terminate()
        process.wait(timeout=30)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

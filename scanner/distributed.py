"""The Ray engine: the scan's hashing as Ray tasks across a cluster (``hashmatch scan --engine ray``).

The rest of the pipeline is the local one (:mod:`scanner.scan`): this process lists the storage as a
stream, asks its state file what is new, sends the batches and records the answers; the tasks read and
hash. Entries go out in chunks of :data:`CHUNK`, at most ``in_flight`` chunks at a time (twice the
cluster's CPUs unless told: enough to keep every core busy, bounded so that nothing piles up), and come
back in the listing's order, so a scan on Ray sends, records and reports exactly what the local engine
does. A task lost with its node is run again by Ray (:data:`RETRIES` times). An object store's file
system goes to the cluster once (``ray.put``); a local root must be mounted at the same path on every
node.

Ray is the optional ``ray`` extra; a cluster's workers need hashmatch with the extras of the storage
(``pip install 'hashmatch[ray,s3]'``).
"""

from collections import deque
from collections.abc import Iterator
from itertools import islice
from typing import Any

from scanner.config import ScanConfig
from scanner.errors import ScannerError
from scanner.hashfile import FileHashes, HashOptions, hash_at
from scanner.scan import Hasher
from scanner.sources import Source
from scanner.walking import FileEntry

CHUNK = 32
"""Files per task: a task costs about a millisecond to schedule, a file tens of milliseconds to hash."""
RETRIES = 3


def hash_chunk(paths: list[str], options: HashOptions, fs: Any) -> list[FileHashes]:
    """The hashes of each path (the work of one task)."""
    return [hash_at(path, options, fs) for path in paths]


def ray_hasher(address: str | None = None, in_flight: int | None = None) -> Hasher:
    """An engine hashing in Ray tasks: on the cluster at ``address`` (``ray://head:10001`` or ``auto``),
    on the one this process is already connected to, or on a local Ray instance of ``config.workers``
    CPUs (stopped at the end)."""

    def hashed(
        source: Source, config: ScanConfig, entries: Iterator[FileEntry]
    ) -> Iterator[tuple[FileEntry, FileHashes]]:
        try:
            import ray  # noqa: PLC0415
        except ImportError:
            raise ScannerError("--engine ray needs Ray: pip install 'hashmatch[ray]'") from None
        started = not ray.is_initialized()
        if started:
            try:
                ray.init(
                    address=address,
                    num_cpus=None if address else config.workers,
                    include_dashboard=False,
                    log_to_driver=False,
                    configure_logging=False,
                )
            except (ConnectionError, RuntimeError, ValueError) as error:
                raise ScannerError(f"cannot reach the Ray cluster at {address}: {error}") from None
        try:
            task = ray.remote(max_retries=RETRIES)(hash_chunk)
            fs = ray.put(source.fs)
            cpus = ray.cluster_resources().get("CPU", 1)  # type: ignore[no-untyped-call]
            limit = in_flight or max(2, 2 * int(cpus))
            waiting: deque[tuple[list[FileEntry], Any]] = deque()
            while chunk := list(islice(entries, CHUNK)):
                waiting.append((chunk, task.remote([entry.path for entry in chunk], config.options, fs)))
                if len(waiting) >= limit:
                    yield from _done(ray, *waiting.popleft())
            while waiting:
                yield from _done(ray, *waiting.popleft())
        finally:
            if started:
                ray.shutdown()

    return hashed


def _done(ray: Any, chunk: list[FileEntry], result: Any) -> Iterator[tuple[FileEntry, FileHashes]]:
    try:
        hashes: list[FileHashes] = ray.get(result)
    except ray.exceptions.RayError as error:
        raise ScannerError(f"a hashing task failed on the Ray cluster: {error}; run the scan again") from None
    return zip(chunk, hashes, strict=True)

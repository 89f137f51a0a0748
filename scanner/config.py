"""What a scan is to do: which storage, which hashes, how files become refs, how much per request."""

import os
from dataclasses import dataclass
from pathlib import Path

from scanner.defaults import DEFAULT_BATCH_ITEMS, MAX_ITEMS
from scanner.hashfile import HashOptions
from scanner.sources import Source, is_url, open_source


@dataclass(frozen=True)
class ScanConfig:
    """What to scan and how: ``root`` is a local directory or an object store's URL (``s3://bucket/
    prefix``); ``ref_prefix`` builds refs from paths relative to ``root`` (else a file's ref is its
    absolute path, an object's its URL)."""

    root: str | Path
    options: HashOptions
    ref_prefix: str | None = None
    batch_items: int = DEFAULT_BATCH_ITEMS
    workers: int = 1
    progress: bool = True
    endpoint_url: str | None = None
    """The S3 API's URL when it is not AWS's (MinIO, Ceph...)."""

    def __post_init__(self) -> None:
        if not 1 <= self.batch_items <= MAX_ITEMS:
            raise ValueError(f"batch size must be from 1 to {MAX_ITEMS} items, got {self.batch_items}")

    def ref(self, relative: str) -> str:
        """The ref of the file at ``relative`` (to the root)."""
        if self.ref_prefix is not None:
            return self.ref_prefix + relative
        if is_url(str(self.root)):
            return f"{str(self.root).rstrip('/')}/{relative}"
        return os.path.abspath(Path(self.root) / relative)

    def source(self) -> Source:
        """The storage ``root`` names, ready to list and read."""
        return open_source(str(self.root), self.endpoint_url)

    def settings(self, server: str) -> dict[str, object]:
        """What a state file must agree on to answer for this scan."""
        return {
            "root": str(self.root).rstrip("/") if is_url(str(self.root)) else os.path.abspath(self.root),
            "server": server.rstrip("/"),
            "ref_prefix": self.ref_prefix,
            "types": list(self.options.types),
            "dihedral": self.options.dihedral,
            "trim": self.options.trim,
        } | ({"video_interval": self.options.video_interval} if "vpdq" in self.options.types else {})

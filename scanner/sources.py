"""Where a scan's files are: a local directory, or a bucket of an object store given as a URL.

``s3://bucket/prefix`` (S3, MinIO, Ceph: the ``s3`` extra), ``gs://`` (``gcsfs``), ``az://`` (``adlfs``),
through fsspec. The listing is a stream: an S3 prefix is read a page (1,000 keys) at a time, in key order,
so that a bucket of billions of objects never sits in memory; other stores are walked a directory at a
time. An object's version is its ETag (its version id where the bucket keeps versions), or its size and
modification time where the store gives nothing else: the state file compares it to skip unchanged objects.
"""

from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from scanner.errors import ScannerError
from scanner.walking import FileEntry, walk

OnError = Callable[[str, OSError], None]


def is_url(root: str) -> bool:
    """Whether ``root`` names an object store (``protocol://...``) rather than a local path."""
    return "://" in root and not root.startswith("file://")


@dataclass(frozen=True)
class Source:
    """The files to scan: ``url`` as given (a local path made absolute), ``fs`` the fsspec file system
    of an object store (None: the local disk, walked with ``os.walk`` and read by path) and ``root`` the
    bucket and prefix in ``fs``'s terms. Picklable: worker processes and Ray tasks open objects with it."""

    url: str
    fs: Any = None
    root: str = ""

    def entries(self, skip: Collection[Path] = (), on_error: OnError | None = None) -> Iterator[FileEntry]:
        """Every file or object under the root, in a stable order (local: by path; S3: by key)."""
        if self.fs is None:
            report = None if on_error is None else (lambda path, error: on_error(str(path), error))
            yield from walk(Path(self.url), skip, on_error=report)
            return
        try:
            if self.fs.protocol[0] in ("s3", "s3a"):
                yield from self._s3_pages()
            else:
                yield from self._walked()
        except Exception as error:  # the store's client's own errors (botocore's...)
            raise ScannerError(f"cannot list {self.url}: {type(error).__name__}: {error}") from None

    def _entry(self, path: str, size: int, version: str | None, modified: object) -> FileEntry:
        relative = path[len(self.root) :].lstrip("/") or path.rsplit("/", 1)[-1]
        mtime_ns = 0 if version else _nanoseconds(modified)
        return FileEntry(path, relative, int(size), mtime_ns, version)

    def _s3_pages(self) -> Iterator[FileEntry]:
        """``ListObjectsV2`` page by page (s3fs's own listing builds the whole list first)."""
        from fsspec.asyn import sync  # noqa: PLC0415

        bucket, _, prefix = self.root.partition("/")
        if prefix and not prefix.endswith("/") and not self.fs.isfile(self.root):
            prefix += "/"
        token: dict[str, str] = {}
        while True:
            page = sync(
                self.fs.loop,
                self.fs._call_s3,
                "list_objects_v2",
                Bucket=bucket,
                Prefix=prefix,
                MaxKeys=1000,
                **token,
            )
            for item in page.get("Contents") or ():
                if item["Key"].endswith("/"):  # a folder marker, not a file
                    continue
                etag = str(item.get("ETag", "")).strip('"') or None
                yield self._entry(f"{bucket}/{item['Key']}", item["Size"], etag, item.get("LastModified"))
            if not page.get("IsTruncated"):
                return
            token = {"ContinuationToken": page["NextContinuationToken"]}

    def _walked(self) -> Iterator[FileEntry]:
        if self.fs.isfile(self.root):
            info = self.fs.info(self.root)
            yield self._entry(self.root, info.get("size") or 0, _version(info), _modified(info))
            return
        for _, directories, files in self.fs.walk(self.root, detail=True):
            ordered = dict(sorted(directories.items()))  # walked in this order: a stable listing
            directories.clear()
            directories.update(ordered)
            for name in sorted(files):
                info = files[name]
                yield self._entry(info["name"], info.get("size") or 0, _version(info), _modified(info))


def open_source(root: str, endpoint_url: str | None = None) -> Source:
    """The source named by ``root``: a URL of an object store (its fsspec implementation must be
    installed) or a local directory."""
    if not is_url(root):
        path = Path(root.removeprefix("file://"))
        if not path.is_dir():
            raise ScannerError(f"{root} is not a directory")
        return Source(str(path.absolute()))
    import fsspec  # noqa: PLC0415

    protocol = root.split("://", 1)[0]
    options: dict[str, object] = {}
    if endpoint_url and protocol in ("s3", "s3a"):
        options["endpoint_url"] = endpoint_url
    try:
        fs, path = fsspec.core.url_to_fs(root, **options)
    except ImportError as error:
        raise ScannerError(f"{root}: {protocol}:// needs an extra package ({error})") from None
    except ValueError as error:
        raise ScannerError(f"{root}: {error}") from None
    return Source(root.rstrip("/"), fs, str(path).rstrip("/"))


def _version(info: dict[str, Any]) -> str | None:
    for key in ("ETag", "etag", "generation", "version_id", "VersionId"):
        value = info.get(key)
        if value:
            return str(value).strip('"')
    return None


def _modified(info: dict[str, Any]) -> object:
    for key in ("LastModified", "last_modified", "updated", "mtime", "created"):
        if info.get(key) is not None:
            return info[key]
    return None


def _nanoseconds(modified: object) -> int:
    if isinstance(modified, datetime):
        return int(modified.timestamp() * 1e9)
    if isinstance(modified, int | float):
        return int(modified * 1e9)
    if isinstance(modified, str):
        try:
            return int(datetime.fromisoformat(modified.replace("Z", "+00:00")).timestamp() * 1e9)
        except ValueError:
            return 0
    return 0

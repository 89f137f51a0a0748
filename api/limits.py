"""Reading request bodies within limits, refusing anything that looks like an image."""

from collections.abc import AsyncIterator, Collection

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import PayloadTooLarge, UnsupportedMediaType, answer_to

# Leading bytes of image formats: a body starting so is an image, whatever its content type says.
IMAGE_MAGIC: tuple[tuple[int, bytes], ...] = (
    (0, b"\xff\xd8\xff"),  # JPEG
    (0, b"\x89PNG\r\n\x1a\n"),
    (0, b"GIF87a"),
    (0, b"GIF89a"),
    (0, b"BM"),  # BMP
    (0, b"II*\x00"),  # TIFF
    (0, b"MM\x00*"),
    (0, b"\x00\x00\x01\x00"),  # ICO
    (8, b"WEBP"),
    (4, b"ftypheic"),
    (4, b"ftypheix"),
    (4, b"ftypmif1"),
    (4, b"ftypavif"),
    (0, b"\xff\x0a"),  # JPEG XL codestream
    (4, b"jP  "),  # JPEG 2000
)
IMAGE_REFUSAL = (
    "hashmatch accepts hashes only, never images: hash files locally (e.g. with the hashmatch scanner) "
    "and send {type, hash, ref} items"
)


def refuse_image_type(content_type: str) -> None:
    kind = content_type.split(";", maxsplit=1)[0].strip().lower()
    if kind.startswith("image/") or kind in ("multipart/form-data", "application/octet-stream"):
        raise UnsupportedMediaType(f"content type {kind!r} refused: {IMAGE_REFUSAL}")


def refuse_image_bytes(head: bytes) -> None:
    for offset, magic in IMAGE_MAGIC:
        if head[offset : offset + len(magic)] == magic:
            raise UnsupportedMediaType(f"the body is image data: {IMAGE_REFUSAL}")


def require_content_type(request: Request, *expected: str) -> None:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    refuse_image_type(kind)
    if kind not in expected:
        raise UnsupportedMediaType(f"content type {kind or 'missing'!r}: send {' or '.join(expected)}")


def body_too_large(declared: str, limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"request body of {declared} bytes is larger than the limit of {limit} bytes")


class BodyLimit:
    """Refuses (413) a request body over ``limit`` bytes on every route but the ``unlimited`` paths (the
    NDJSON stream, read line by line in bounded memory): at once when its Content-Length says so,
    otherwise as soon as the bytes read pass the limit, before a route parses them (at a console
    address with the console's page, as every error there)."""

    def __init__(self, app: ASGIApp, limit: int, unlimited: Collection[str]) -> None:
        self.app = app
        self.limit = limit
        self.unlimited = frozenset(unlimited)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.unlimited:
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"").decode("latin-1")
        digits = declared.lstrip("0") if declared.isascii() and declared.isdigit() else ""
        if len(digits) > 18 or (digits and int(digits) > self.limit):  # more digits than any limit has
            refused = answer_to(Request(scope), body_too_large(declared, self.limit))
            await refused(scope, receive, send)
            return
        size = 0

        async def counted() -> Message:
            nonlocal size
            message = await receive()
            size += len(message.get("body", b""))
            if size > self.limit:  # FastAPI and Starlette pass an HTTPException on to its handler
                raise HTTPException(413, f"request body is larger than the limit of {self.limit} bytes")
            return message

        await self.app(scope, counted, send)


async def read_body(request: Request) -> bytes:
    """The whole body (within the app's :class:`BodyLimit`), refused with 415 if it is image data."""
    body = await request.body()
    refuse_image_bytes(body[:16])
    return body


async def first_chunk(request: Request) -> tuple[bytes, AsyncIterator[bytes]]:
    """The body's first non-empty chunk (checked for image data) and the rest of the body's chunks."""
    chunks = request.stream()
    async for chunk in chunks:
        if chunk:
            refuse_image_bytes(chunk[:16])
            return chunk, chunks
    return b"", chunks


async def split_lines(first: bytes, rest: AsyncIterator[bytes], max_line: int) -> AsyncIterator[bytes | None]:
    """The lines of a body as they arrive (without the newline); None for a line longer than
    ``max_line``, which is skipped rather than buffered."""
    pending = bytearray()
    oversized = False

    async def chunks() -> AsyncIterator[bytes]:
        yield first
        async for chunk in rest:
            yield chunk

    async for chunk in chunks():
        start = 0
        while True:
            end = chunk.find(b"\n", start)
            if end < 0:
                if not oversized:
                    pending += chunk[start:]
                    if len(pending) > max_line:
                        oversized, pending = True, bytearray()
                break
            if oversized:
                yield None
            else:
                pending += chunk[start:end]
                yield None if len(pending) > max_line else bytes(pending)
            pending, oversized = bytearray(), False
            start = end + 1
    if oversized:
        yield None
    elif pending:
        yield bytes(pending)

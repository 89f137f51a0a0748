"""What can be wrong with a file: a kind to count by, and a reason to show next to its path."""

from dataclasses import dataclass
from enum import StrEnum


class ProblemKind(StrEnum):
    UNREADABLE = "unreadable"
    """The file could not be read at all (permissions, vanished): nothing was hashed."""
    NOT_IMAGE = "not_image"
    """Not an image Pillow can open: only the cryptographic hashes were made."""
    CORRUPT = "corrupt"
    """A truncated or damaged image or video: only the cryptographic hashes were made."""
    TOO_LARGE = "too_large"
    """More pixels than the limit (a decompression bomb): only the cryptographic hashes were made."""
    ANIMATED = "animated"
    """Several frames: the perceptual hashes are of the first frame only."""
    NO_VIDEO_HASHER = "no_video_hasher"
    """A video, but ``vpdq`` is not installed: only the cryptographic hashes were made."""


@dataclass(frozen=True)
class Problem:
    kind: ProblemKind
    reason: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.reason}"

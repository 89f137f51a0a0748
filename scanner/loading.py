"""Opening a file as an image, and naming what is wrong with those that cannot be hashed.

Nothing here raises on a bad file: every failure comes back as a :class:`Problem`.
"""

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from PIL import Image, UnidentifiedImageError

from scanner.problems import Problem, ProblemKind

DEFAULT_MAX_PIXELS = 100_000_000
"""Larger images are not decoded: a decompression bomb expands a small file into gigabytes. (Pillow
itself refuses more than about 179 million while opening.)"""


@dataclass(frozen=True)
class Loaded:
    """An RGB image, or why there is none; an animated image comes with its first frame and a problem."""

    image: Image.Image | None
    problem: Problem | None = None


def load_image(
    path: Path | IO[bytes], *, draft_size: int | None, max_pixels: int = DEFAULT_MAX_PIXELS
) -> Loaded:
    """The image in ``path`` (a file, or a binary stream) as RGB, reduced (if ``draft_size`` is given)
    to both sides at least ``draft_size``: a JPEG while decoding, any other image after."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own limit decides
            with Image.open(path) as image:
                return _decode(image, draft_size, max_pixels)
    except UnidentifiedImageError:
        return Loaded(None, Problem(ProblemKind.NOT_IMAGE, "not an image format Pillow can read"))
    except Image.DecompressionBombError as error:  # past twice Pillow's limit: refused while opening
        return Loaded(None, Problem(ProblemKind.TOO_LARGE, str(error)))
    except OSError as error:
        if error.errno is not None:  # the file system's error, not Pillow's
            return Loaded(None, Problem(ProblemKind.UNREADABLE, error.strerror or str(error)))
        return Loaded(None, Problem(ProblemKind.CORRUPT, f"truncated or damaged image: {error}"))
    except (SyntaxError, ValueError, EOFError, IndexError) as error:  # what Pillow's decoders raise
        return Loaded(None, Problem(ProblemKind.CORRUPT, f"damaged image: {error}"))


def _decode(image: Image.Image, draft_size: int | None, max_pixels: int) -> Loaded:
    width, height = image.size
    if width * height > max_pixels:
        return Loaded(
            None,
            Problem(
                ProblemKind.TOO_LARGE,
                f"{width}x{height} pixels is more than the limit of {max_pixels} (decompression bomb?)",
            ),
        )
    frames = getattr(image, "n_frames", 1)
    if draft_size is not None and image.format == "JPEG":
        image.draft("RGB", (draft_size, draft_size))
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    if draft_size is not None and (factor := min(rgb.size) // draft_size) > 1:
        rgb = rgb.reduce(factor)  # from the decoded image itself when RGB: no full-size copy
    elif rgb is image:
        rgb = image.copy()  # the opened image is closed on return: its pixels are kept in a copy
    if frames > 1:
        return Loaded(rgb, Problem(ProblemKind.ANIMATED, f"{frames} frames: the first frame was hashed"))
    return Loaded(rgb)

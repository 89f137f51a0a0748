"""Trimming uniform borders: a frame of one colour around a picture defeats every perceptual hash.

Each side is trimmed on its own (a letterboxed frame has bands above and below only), by the colour of
its outermost row or column, with a tolerance for JPEG noise.
"""

import numpy as np
import numpy.typing as npt
from PIL import Image

TOLERANCE = 24
"""Largest per-channel difference from the border colour that still counts as border."""
UNIFORM_SHARE = 0.98
"""Share of a row's pixels that must be of the border colour."""
MIN_BORDER = 0.01
"""Borders thinner than this share of the side (and than 2 pixels) are left alone."""
MIN_KEPT = 0.1
"""An image that would keep less than this share of a side is one colour, not a framed picture."""


def trim_borders(image: Image.Image) -> Image.Image | None:
    """``image`` without its uniform borders, or None if it has none worth trimming."""
    pixels = np.asarray(image.convert("RGB"), dtype=np.int16)
    height, width = pixels.shape[:2]
    if min(height, width) < 4:
        return None
    columns = pixels.transpose(1, 0, 2)
    top, bottom = _border(pixels, height), _border(pixels[::-1], height)
    left, right = _border(columns, width), _border(columns[::-1], width)
    if top + bottom + left + right == 0:
        return None
    kept_width, kept_height = width - left - right, height - top - bottom
    if kept_width < MIN_KEPT * width or kept_height < MIN_KEPT * height:
        return None
    return image.crop((left, top, width - right, height - bottom))


def _border(lines: npt.NDArray[np.int16], length: int) -> int:
    """How many leading lines of ``lines`` (rows of pixels) are of the colour of the first one."""
    head = lines[: length // 2]
    color = np.median(head[0], axis=0)
    matching = (np.abs(head - color).max(axis=2) <= TOLERANCE).mean(axis=1) >= UNIFORM_SHARE
    run = int(matching.argmin()) if not matching.all() else len(matching)
    return run if run >= max(2, MIN_BORDER * length) else 0

"""Trimming uniform borders: a frame of one colour around a picture defeats every perceptual hash.

Each side is trimmed on its own (a letterboxed frame has bands above and below only), by the colour of
its outermost row or column, with a tolerance for JPEG noise.
"""

import numpy as np
import numpy.typing as npt
from PIL import Image

TOLERANCE = 12
"""Largest per-channel difference from the border colour that still counts as border."""
UNIFORM_SHARE = 0.98
"""Share of a row's pixels that must be of the border colour."""
MIN_BORDER = 0.01
"""Borders thinner than this share of the side (and than 2 pixels) are left alone."""
MIN_KEPT = 0.1
"""An image that would keep less than this share of a side is one colour, not a framed picture."""


def trim_borders(image: Image.Image) -> Image.Image | None:
    """``image`` without its uniform borders, or None if it has none worth trimming."""
    pixels = np.asarray(image.convert("RGB") if image.mode != "RGB" else image)
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


def _border(lines: npt.NDArray[np.uint8], length: int) -> int:
    """How many leading lines of ``lines`` (rows of pixels) are of the colour of the first one.

    Reads blocks of lines, doubling in size, up to the first line that differs: a picture without a
    border costs one block of lines."""
    color = np.median(lines[0], axis=0).astype(np.int16)
    limit, run, step = length // 2, 0, 8
    while run < limit:
        block = lines[run : min(run + step, limit)].astype(np.int16)
        matching = (np.abs(block - color).max(axis=2) <= TOLERANCE).mean(axis=1) >= UNIFORM_SHARE
        if not matching.all():
            run += int(matching.argmin())
            break
        run += len(block)
        step *= 2
    return run if run >= max(2, MIN_BORDER * length) else 0

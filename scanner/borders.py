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
    """``image`` without its uniform borders, or None if it has none worth trimming.

    The four outermost lines are read first: where none is of one colour (most pictures), there is no
    border, and the rest of the image is not read."""
    rgb = image.convert("RGB") if image.mode != "RGB" else image
    width, height = rgb.size
    if min(height, width) < 4:
        return None
    edges = (
        (0, 0, width, 1),
        (0, height - 1, width, height),
        (0, 0, 1, height),
        (width - 1, 0, width, height),
    )
    if not any(_one_colour(np.asarray(rgb.crop(box)).reshape(-1, 3)) for box in edges):
        return None
    pixels = np.asarray(rgb)
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
    color = _color(lines[0])
    limit, run, step = length // 2, 0, 8
    while run < limit:
        matching = _uniform(lines[run : min(run + step, limit)], color)
        if not matching.all():
            run += int(matching.argmin())
            break
        run += len(matching)
        step *= 2
    return run if run >= max(2, MIN_BORDER * length) else 0


def _color(line: npt.NDArray[np.uint8]) -> npt.NDArray[np.int16]:
    """The colour of a line of pixels: the median of each channel."""
    color: npt.NDArray[np.int16] = np.median(line, axis=0).astype(np.int16)
    return color


def _one_colour(line: npt.NDArray[np.uint8]) -> bool:
    """Whether a line of pixels is of one colour (its own median's)."""
    return bool(_uniform(line[np.newaxis], _color(line))[0])


def _uniform(block: npt.NDArray[np.uint8], color: npt.NDArray[np.int16]) -> npt.NDArray[np.bool_]:
    """Per line of ``block``: whether it is of ``color`` within the tolerance, for the share of its
    pixels."""
    differences = np.abs(block.astype(np.int16) - color).max(axis=2)
    return np.asarray((differences <= TOLERANCE).mean(axis=1) >= UNIFORM_SHARE)

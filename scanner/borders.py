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
LOOSE_SHARE = 0.8
"""The share for the margins of a picture found inside a screenshot (:mod:`scanner.embedded`): a bubble
or a card around it has rounded corners of another colour and a line of small text (a time, a count)
on its own colour, in a margin a few pixels wide that the region finder cannot tell from the
picture's edge."""
MIN_BORDER = 0.01
"""Borders thinner than this share of the side (and than 2 pixels) are left alone."""
MIN_KEPT = 0.1
"""An image that would keep less than this share of a side is one colour, not a framed picture."""


def trim_borders(image: Image.Image, share: float = UNIFORM_SHARE) -> Image.Image | None:
    """``image`` without its uniform borders (lines with at least ``share`` of their pixels of the
    border's colour), or None if it has none worth trimming.

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
    if not any(_one_colour(np.asarray(rgb.crop(box)).reshape(-1, 3), share) for box in edges):
        return None
    pixels = np.asarray(rgb)
    columns = pixels.transpose(1, 0, 2)
    top, bottom = _border(pixels, height, share), _border(pixels[::-1], height, share)
    left, right = _border(columns, width, share), _border(columns[::-1], width, share)
    if top + bottom + left + right == 0:
        return None
    kept_width, kept_height = width - left - right, height - top - bottom
    if kept_width < MIN_KEPT * width or kept_height < MIN_KEPT * height:
        return None
    return image.crop((left, top, width - right, height - bottom))


def _border(lines: npt.NDArray[np.uint8], length: int, share: float) -> int:
    """How many leading lines of ``lines`` (rows of pixels) are of the colour of the first one.

    Reads blocks of lines, doubling in size, up to the first line that differs: a picture without a
    border costs one block of lines."""
    color = _color(lines[0])
    limit, run, step = length // 2, 0, 8
    while run < limit:
        matching = _uniform(lines[run : min(run + step, limit)], color, share)
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


def _one_colour(line: npt.NDArray[np.uint8], share: float) -> bool:
    """Whether a line of pixels is of one colour (its own median's), for ``share`` of them."""
    return bool(_uniform(line[np.newaxis], _color(line), share)[0])


def _uniform(
    block: npt.NDArray[np.uint8], color: npt.NDArray[np.int16], share: float
) -> npt.NDArray[np.bool_]:
    """Per line of ``block``: whether at least ``share`` of its pixels are of ``color`` within the
    tolerance."""
    differences = np.abs(block.astype(np.int16) - color).max(axis=2)
    return np.asarray((differences <= TOLERANCE).mean(axis=1) >= share)

"""Boxes found on the reduced work image (:mod:`scanner.regionmaps`) brought back to the image's own
pixels, each side inside the image moved to the exact line of its edge. Pure functions."""

import numpy as np
from PIL import Image

from scanner.lines import STEP
from scanner.regionmaps import Box

EDGE_COVERAGE = 0.6
"""A side moves to a line only where it is a step (:data:`scanner.lines.STEP`) along this share of it."""


def snapped(image: Image.Image, boxes: list[Box], reach: int) -> list[Box]:
    """``boxes`` (in ``image``'s pixels) with each side inside the image moved, by ``reach`` pixels at
    most, to the line where the levels change most from the line before it (summed over the colour
    channels, along the side; :func:`_edge`): a side read on the reduced image may be a line or two
    off, which moved PDQ by 36 and 44 bits on two of the quality set's screenshots. Only the strips
    around the sides are read (an image scanned whole may have tens of millions of pixels)."""
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    return [
        (
            _edge(rgb, left, reach, (top, bottom), across=False),
            _edge(rgb, top, reach, (left, right), across=True),
            _edge(rgb, right, reach, (top, bottom), across=False),
            _edge(rgb, bottom, reach, (left, right), across=True),
        )
        for left, top, right, bottom in boxes
    ]


def _edge(rgb: Image.Image, at: int, reach: int, span: tuple[int, int], across: bool) -> int:
    """Of the boundaries ``at - reach`` to ``at + reach`` between rows (``across``) or columns
    (boundary ``b`` lies between line ``b - 1`` and line ``b``), each from ``span``'s start to its end,
    the one of most change, if one of them is a step along :data:`EDGE_COVERAGE` of its length; else
    (and on the image's border) ``at``."""
    count = rgb.height if across else rgb.width
    if at <= 0 or at >= count:
        return at
    low, high = max(1, at - reach), min(count - 1, at + reach)
    start, end = span
    strip = np.asarray(
        rgb.crop((start, low - 1, end, high + 1) if across else (low - 1, start, high + 1, end))
    )
    lines = strip.astype(np.int16) if across else strip.transpose(1, 0, 2).astype(np.int16)
    change = np.abs(lines[1:] - lines[:-1])  # change[i]: the boundary low + i
    if (change.max(axis=2) >= STEP).sum(axis=1).max() < EDGE_COVERAGE * lines.shape[1]:
        return at  # no straight edge near: the side stays where it was read
    return low + int(np.argmax(change.sum(axis=(1, 2))))


def scaled(box: Box, scale: float, size: tuple[int, int]) -> Box:
    left, top, right, bottom = box
    return (
        max(0, round(left * scale)),
        max(0, round(top * scale)),
        min(size[0], round(right * scale)),
        min(size[1], round(bottom * scale)),
    )

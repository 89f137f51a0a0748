"""Boxes found on the reduced work image (:mod:`scanner.regionmaps`) brought back to the image's own
pixels, each side inside the image moved to the exact line of its edge. Pure functions."""

import numpy as np
import numpy.typing as npt
from PIL import Image

from scanner.lines import STEP
from scanner.regionmaps import Box

EDGE_COVERAGE = 0.6
"""A side moves to a line only where it is a step (:data:`scanner.lines.STEP`) along this share of it."""


def snapped(image: Image.Image, boxes: list[Box], reach: int) -> list[Box]:
    """``boxes`` (in ``image``'s pixels) with each side inside the image moved, by ``reach`` pixels at
    most, to the line where the levels change most from the line before it (summed over the colour
    channels, along the side; :func:`_edge`): a side read on the reduced image may be a line or two
    off, which moves PDQ by up to 30 bits."""
    if not boxes:
        return boxes
    pixels = np.asarray(image if image.mode == "RGB" else image.convert("RGB"), dtype=np.int16)
    moved = []
    for left, top, right, bottom in boxes:
        rows, columns = pixels[:, left:right], pixels[top:bottom].transpose(1, 0, 2)
        moved.append(
            (
                _edge(columns, left, reach),
                _edge(rows, top, reach),
                _edge(columns, right, reach),
                _edge(rows, bottom, reach),
            )
        )
    return moved


def _edge(lines: npt.NDArray[np.int16], at: int, reach: int) -> int:
    """Of the boundaries ``at - reach`` to ``at + reach`` between lines (boundary ``b`` lies between
    line ``b - 1`` and line ``b``) of ``lines`` (lines, length, channels), the one of most change, if
    one of them is a step along :data:`EDGE_COVERAGE` of its length; else (and on the image's border)
    ``at``."""
    count = lines.shape[0]
    if at <= 0 or at >= count:
        return at
    low, high = max(1, at - reach), min(count - 1, at + reach)
    change = np.abs(lines[low : high + 1] - lines[low - 1 : high])
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

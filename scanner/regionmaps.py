"""Reading a picture for the region finder (:mod:`scanner.embedded`): the image reduced to a work size
and read as maps, cumulative sums of its textured pixels, flat pixels and steps along rows and columns
(in gray levels, and in any colour channel: edges), for O(1) shares of any box or edge. Pure functions
on NumPy arrays."""

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

from scanner.lines import STEP, along_rows

Box = tuple[int, int, int, int]
"""left, top, right, bottom (exclusive), in pixels."""

WORK_SIDE = 384
"""The image is reduced (box filter) to at most this many pixels a side before it is read, once a
glance (:func:`scanner.glance.worth_a_look`) found chrome or a seam in it."""
TEXTURE = 1.0
"""Mean gradient (levels per pixel, over a 5x5 window) above which a pixel is textured."""
FLAT = 2
"""Largest change of level two pixels apart on a flat pixel (chrome, a page's background; a photo's
noise is more)."""
MIN_RUN = 0.2
"""A line's longest run of edges is kept from this share of its length: a candidate side of a box
(:mod:`scanner.embedded`)."""


@dataclass(frozen=True)
class Maps:
    """Cumulative sums of the work image's textured pixels (2-D) and of its steps along rows and
    columns, for O(1) shares of any box or edge."""

    textured: npt.NDArray[np.int32]  # (h + 1, w + 1)
    flat: npt.NDArray[np.int32]  # (h + 1, w + 1): pixels whose neighbours two apart differ by <= FLAT
    row_steps: npt.NDArray[np.int16]  # (h, w + 1): steps between row y - 1 and y + 1, along x
    column_steps: npt.NDArray[np.int16]  # (w, h + 1): steps between column x - 1 and x + 1, along y
    row_edges: npt.NDArray[np.int16]  # as row_steps, of steps in any colour channel
    column_edges: npt.NDArray[np.int16]
    row_runs: npt.NDArray[np.int16]  # (h,): the longest run of edges (colour steps) along each row
    column_runs: npt.NDArray[np.int16]  # (w,)
    levels: npt.NDArray[np.uint8]  # the work image

    def background(self, box: Box) -> float:
        """Share of the box's pixels within two levels of its commonest level: a page of text or
        chrome is mostly its background, a photo never."""
        left, top, right, bottom = box
        counts = np.bincount(self.levels[top:bottom, left:right].ravel(), minlength=256)
        return float(np.convolve(counts, np.ones(5), mode="same").max()) / max(1, int(counts.sum()))

    @property
    def size(self) -> tuple[int, int]:
        return self.textured.shape[1] - 1, self.textured.shape[0] - 1

    def texture(self, box: Box) -> float:
        return float(share(self.textured, *box))


def reduced(image: Image.Image) -> tuple[Image.Image, float]:
    """The image in RGB, its longer side reduced (box filter) to :data:`WORK_SIDE` if longer, and the
    factor it was reduced by."""
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    scale = max(1.0, max(rgb.size) / WORK_SIDE)
    if scale > 1:
        size = (max(1, round(rgb.width / scale)), max(1, round(rgb.height / scale)))
        rgb = rgb.resize(size, Image.Resampling.BOX)
    return rgb, scale


def read_maps(rgb: Image.Image) -> Maps:
    """The maps of an RGB work image (:func:`reduced`)."""
    pixels = np.asarray(rgb.convert("L"), dtype=np.int16)
    dy, dx = _differences(pixels)
    # mean of max(dx, dy) / 2 over a 5x5 window >= TEXTURE, in whole levels
    gradient = np.maximum(dx, dy)
    # steps in any channel: a picture's edge may differ from the chrome in hue only (a blue sky on gray)
    colour_dy, colour_dx = dy.copy(), dx.copy()
    for channel in rgb.split():
        channel_dy, channel_dx = _differences(np.asarray(channel, dtype=np.int16))
        np.maximum(colour_dy, channel_dy, out=colour_dy)
        np.maximum(colour_dx, channel_dx, out=colour_dx)
    row_edges, row_runs = _steps(_closed(colour_dy >= STEP), pixels.shape[1])
    column_edges, column_runs = _steps(_closed((colour_dx >= STEP).T), pixels.shape[0])
    textured = _box_sum(gradient, 2) >= 2 * TEXTURE * 25
    return Maps(
        textured=_cumulative2(textured),
        flat=_cumulative2(gradient <= FLAT),
        row_steps=along_rows(_closed(dy >= STEP), np.int16),
        column_steps=along_rows(_closed((dx >= STEP).T), np.int16),
        row_edges=row_edges,
        column_edges=column_edges,
        row_runs=row_runs,
        column_runs=column_runs,
        levels=pixels.astype(np.uint8),
    )


def _differences(pixels: npt.NDArray[np.int16]) -> tuple[npt.NDArray[np.int16], npt.NDArray[np.int16]]:
    """The change of level two pixels apart down and across each pixel (0 on the image's edges)."""
    dy = np.zeros_like(pixels)
    dx = np.zeros_like(pixels)
    np.abs(pixels[2:] - pixels[:-2], out=dy[1:-1])
    np.abs(pixels[:, 2:] - pixels[:, :-2], out=dx[:, 1:-1])
    return dy, dx


def _closed(steps: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """Steps along each row with single-pixel gaps filled (a JPEG'd edge is not quite continuous)."""
    filled = steps.copy()
    filled[:, 1:-1] |= steps[:, :-2] & steps[:, 2:]
    return filled


def _box_sum(values: npt.NDArray[np.int16], radius: int) -> npt.NDArray[np.int16]:
    """Sums over the square window of ``radius`` around each pixel (edges repeated; at most
    ``(2 radius + 1)^2 * 255``): shifted copies added, across then down."""
    padded = np.pad(values, radius, mode="edge")
    height, width = values.shape
    across = padded[:, :width].copy()
    for shift in range(1, 2 * radius + 1):
        across += padded[:, shift : shift + width]
    sums = across[:height].copy()
    for shift in range(1, 2 * radius + 1):
        sums += across[shift : shift + height]
    return sums


def _cumulative2(marks: npt.NDArray[np.bool_]) -> npt.NDArray[np.int32]:
    """The 2-D cumulative sums of ``marks``, from 0: (h + 1, w + 1)."""
    down = np.zeros((marks.shape[0] + 1, marks.shape[1]), dtype=np.int16)
    np.add.accumulate(marks, axis=0, dtype=np.int16, out=down[1:])
    return along_rows(down, np.int32)


def _steps(steps: npt.NDArray[np.bool_], length: int) -> tuple[npt.NDArray[np.int16], npt.NDArray[np.int16]]:
    """The cumulative sums of ``steps`` along each row (from 0), and each row's longest run of steps
    (the count so far less the count at the row's last non-step before each pixel), only where it
    may be a candidate's (a fifth of ``length`` steps at least, else 0)."""
    sums = along_rows(steps, np.int16)
    runs = np.zeros(steps.shape[0], dtype=np.int16)
    (lines,) = np.nonzero(sums[:, -1] >= MIN_RUN * length)
    if len(lines):
        counts = sums[lines, 1:]
        before = np.maximum.accumulate(np.where(steps[lines], 0, counts).T, axis=0).T
        runs[lines] = (counts - before).max(axis=1)
    return sums, runs


def share(sums: npt.NDArray[np.int32], left: Any, top: Any, right: Any, bottom: Any) -> Any:
    """The share of marked pixels in boxes (ints or arrays of them), from the marks' cumulative sums."""
    total = sums[bottom, right] - sums[top, right] - sums[bottom, left] + sums[top, left]
    return total / np.maximum(1, (right - left) * (bottom - top))

"""PDQ of an image and of its seven flipped and rotated copies, each downscaled as PDQ downscales that copy.

The reference's dihedral hashes (``pdqhash.compute_dihedral``) come from the one DCT of the image as stored,
by changes of sign and a transpose. A transpose is exact, a flip is not: PDQ's box filter averages a
window that is not centred when its width is even (sides of 129-256, 385-512 px...), so a flipped image is
not the flip of the image downscaled. A picture listed upright and uploaded upside down then came back up to
32 bits from the list's hash where a plain re-encode sat at 8 (320x240 photos, JPEG 60 and 85), and the server
had to search every turn at a wide radius.

Here PDQ's downscaling (luma; along each axis two box passes, then the 64 cell centres) is what it is, a
linear map along each axis: 64 weighted sums of at most ``2 w - 1`` neighbouring lines, ``w`` the window.
Applied once to each axis as stored and once reversed, it gives the 64x64 cells of the four flips; their
DCTs and the transposes of those are PDQ of the eight turned images, bit for bit the reference's hash of each
turned copy (tests/test_hashing.py), in under a third of the time of the reference's one-DCT turns (0.33 ms
against 1.15 on a 408x306 image). On a featureless image (quality 0: every coefficient within rounding of
the others) the bits are rounding noise, here as in the reference. Pure numpy functions.
"""

from functools import lru_cache
from math import cos, pi, sqrt
from typing import Any

import numpy as np
import numpy.typing as npt

CELLS = 64
BLOCK_FLOATS = 4 << 20
"""Floats a step reads at once (16 MB): a 100-megapixel image is taken a band of rows at a time, where the
reference takes two whole float copies."""
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
DCT = np.array(
    [[sqrt(2 / CELLS) * cos(pi / 2 / CELLS * (i + 1) * (2 * j + 1)) for j in range(CELLS)]
     for i in range(16)],
    dtype=np.float32,
)  # fmt: skip
"""PDQ's 16x64 DCT: frequencies 1 to 16 (not the DC term)."""
TURNS = (
    (0, 0, False), (1, 0, True), (1, 1, False), (0, 1, True),
    (0, 1, False), (1, 0, False), (0, 0, True), (1, 1, True),
)  # fmt: skip
"""The reference's order (as stored, rotated 90, 180, 270, flipped in x, in y, about each diagonal), each as
(reversed left-right, reversed top-bottom, transposed after)."""

Floats = npt.NDArray[np.floating[Any]]
Taps = tuple[npt.NDArray[np.intp], Floats]


def pdq_turns(rgb: npt.NDArray[np.uint8]) -> tuple[list[npt.NDArray[np.bool_]], int]:
    """PDQ's 256 bits (pdqhash's order: most significant first) of an RGB image array (rows, columns, 3)
    and of its seven turns, in the reference's order; and the image's quality (0-100)."""
    rows, columns = rgb.shape[:2]
    luma = np.empty((rows, columns), dtype=np.float32)
    band = max(1, BLOCK_FLOATS // (3 * max(1, columns)))
    for start in range(0, rows, band):
        luma[start : start + band] = rgb[start : start + band].astype(np.float32) @ LUMA
    down, across = _taps(rows), _taps(columns)
    cells = {}
    for top_bottom in (0, 1):
        lines = _reduce_rows(luma, down, rows, top_bottom)
        for left_right in (0, 1):
            cells[left_right, top_bottom] = _reduce_columns(lines, across, columns, left_right)
    dcts = {key: DCT @ value @ DCT.T for key, value in cells.items()}
    turned = [dcts[left_right, top_bottom].T if transposed else dcts[left_right, top_bottom]
              for left_right, top_bottom, transposed in TURNS]  # fmt: skip
    return [_bits(dct) for dct in turned], _quality(cells[0, 0])


@lru_cache(maxsize=256)
def _taps(length: int) -> Taps:
    """For each of the 64 cells along an axis of ``length``: the lines it is made of and their weights.

    PDQ's box filter of window ``w`` averages, for output ``o``, inputs ``o - (w - h)`` to ``o + h - 1``
    (``h = (w + 2) // 2``) clipped to the axis; it runs twice, then cell ``c`` takes output
    ``int((c + 0.5) * length / 64)``."""
    window = (length + 2 * CELLS - 1) // (2 * CELLS)
    before, after = window - (window + 2) // 2, (window + 2) // 2 - 1
    centres = ((np.arange(CELLS) + 0.5) * length / CELLS).astype(np.intp)
    inner = centres[:, None] + np.arange(-before, after + 1)  # (64, w): outputs of the first pass
    valid = (inner >= 0) & (inner < length)
    inner_low, inner_high = np.maximum(inner - before, 0), np.minimum(inner + after, length - 1)
    lines = centres[:, None] - 2 * before + np.arange(2 * window - 1)  # (64, 2w - 1): the inputs
    covered = (lines[:, None, :] >= inner_low[:, :, None]) & (lines[:, None, :] <= inner_high[:, :, None])
    share = valid / (inner_high - inner_low + 1)  # each first-pass output's weight per input it averages
    weights = (covered * share[:, :, None]).sum(axis=1) / valid.sum(axis=1, keepdims=True)
    return np.clip(lines, 0, length - 1), weights.astype(np.float32)


def _reduce_rows(luma: Floats, taps: Taps, length: int, reverse: int) -> Floats:
    lines, weights = taps
    picked = length - 1 - lines if reverse else lines
    reduced: Floats = np.empty((CELLS, luma.shape[1]), dtype=np.float32)
    cells = max(1, BLOCK_FLOATS // (lines.shape[1] * max(1, luma.shape[1])))
    for start in range(0, CELLS, cells):
        end = start + cells
        reduced[start:end] = np.einsum("ck,ckw->cw", weights[start:end], luma[picked[start:end]])
    return reduced


def _reduce_columns(lines: Floats, taps: Taps, length: int, reverse: int) -> Floats:
    columns, weights = taps
    reduced: Floats = np.einsum("ck,rck->rc", weights, lines[:, length - 1 - columns if reverse else columns])
    return reduced


def _bits(dct: Floats) -> npt.NDArray[np.bool_]:
    """Bit ``16 i + j`` set where coefficient (i, j) exceeds the lower median; bit 255 first."""
    values = dct.ravel()[::-1]
    return np.asarray(values > np.partition(values, 127)[127])


def _quality(cells: Floats) -> int:
    """The reference's quality: the 64x64 cells' significant gradients, 0 to 100."""
    down = np.trunc((cells[:-1] - cells[1:]) * 100 / 255)
    across = np.trunc((cells[:, :-1] - cells[:, 1:]) * 100 / 255)
    return min(100, int(np.abs(down).sum() + np.abs(across).sum()) // 90)

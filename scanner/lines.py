"""Reading an image's gray levels line by line: running sums along each row, and the seams that cross a
region whole (a collage's gutter, a caption band's edge, a pasted picture's side): pure functions on NumPy
arrays, shared by the glance (:mod:`scanner.glance`) and the search (:mod:`scanner.embedded`)."""

from typing import Any

import numpy as np
import numpy.typing as npt

STEP = 10.0
"""Smallest change of level (0-255) across an edge, two pixels apart, that counts as a step."""
SEAM_COVERAGE = 0.85
"""Share of a seam's length that must be steps for a collage's split."""
SEAM_CONTRAST = 0.5
"""How much more of a seam than of the lines :data:`SEAM_APART` beside it must be steps."""
SEAM_APART = 4
GUTTER = 8
"""Two seams at most this many work pixels apart are the edges of one gutter."""
PART = 0.25
"""Each part of a split is at least this share of the split box's side."""


def along_rows(values: npt.NDArray[np.generic], dtype: type[np.signedinteger[Any]]) -> npt.NDArray[Any]:
    """``values`` summed along each row as ``dtype``, from 0: (h, w + 1). NumPy accumulates fast
    across rows (whole rows at once, casting to a wider type) and slowly along them, so the sums are
    made and kept transposed (the array returned is a view)."""
    sums = np.zeros((values.shape[1] + 1, values.shape[0]), dtype=dtype)
    np.add.accumulate(np.ascontiguousarray(values.T), axis=0, dtype=dtype, out=sums[1:])
    return sums.T


def seams(
    steps: npt.NDArray[np.int16],
    first: int,
    last: int,
    start: int,
    end: int,
    contrast: float = SEAM_CONTRAST,
    part: float = PART,
) -> list[tuple[int, int, float]]:
    """The seams across ``first``-``last`` (``part`` of it away from its ends at least): lines that
    are steps along at least :data:`SEAM_COVERAGE` of ``start``-``end`` and stand out by ``contrast``
    from a line beside them, each as where the part before it ends, where the part after it begins
    (around a gutter: its other seam within :data:`GUTTER` lines) and how much it stands out."""
    share = (steps[:, end] - steps[:, start]) / max(1, end - start)
    lines = np.arange(first + int(part * (last - first)), last - int(part * (last - first)) + 1)
    lines = lines[(lines > SEAM_APART) & (lines < len(share) - SEAM_APART)]
    beside = np.minimum(share[lines - SEAM_APART], share[lines + SEAM_APART])  # a gutter has two
    strength = share[lines] - beside
    kept = (share[lines] >= SEAM_COVERAGE) & (strength >= contrast)
    found = lines[kept].tolist()
    seams = []
    for line, stands in zip(found, strength[kept].tolist(), strict=True):
        near = [other for other in found if abs(other - line) <= GUTTER]
        seams.append((min(near), max(near), stands))
    return seams

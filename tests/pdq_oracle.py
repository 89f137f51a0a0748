"""PDQ written again from Meta's reference algorithm (``pdqhashing.cpp``), in numpy: the oracle that
checks our PDQ (``pdqhash``, the reference C++ compiled) is read and encoded the reference's way.

Luma from RGB; two passes of Jarosz box filters along rows then columns, windows sized for 64 outputs;
decimation to 64x64 at cell centres; the quality metric from the 64x64 gradients; a 16x64 DCT without
its DC row on each side; one bit per coefficient above the median (Torben's: the lower median); bit
``16 i + j`` is bit ``j`` of word ``i``, written as words 15 to 0, four hex digits each. Sums run in
float64 where the reference runs float32, so a coefficient within rounding of the median may differ.
"""

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]


def pdq_reference(rgb: npt.NDArray[np.uint8]) -> tuple[str, int]:
    """The PDQ hash (64 hex digits) and quality of an RGB image array of shape (rows, cols, 3)."""
    pixels = rgb.astype(np.float64)
    luma = 0.299 * pixels[:, :, 0] + 0.587 * pixels[:, :, 1] + 0.114 * pixels[:, :, 2]
    rows, cols = luma.shape
    along_rows, along_cols = _window(cols), _window(rows)
    for _ in range(2):
        luma = np.apply_along_axis(_box, 1, luma, along_rows)
        luma = np.apply_along_axis(_box, 0, luma, along_cols)
    centres_r = (((np.arange(64) + 0.5) * rows) / 64).astype(int)
    centres_c = (((np.arange(64) + 0.5) * cols) / 64).astype(int)
    cells = luma[np.ix_(centres_r, centres_c)]
    quality = _quality(cells)
    i, j = np.mgrid[0:16, 0:64]
    dct = np.sqrt(2.0 / 64.0) * np.cos((np.pi / 2 / 64.0) * (i + 1) * (2 * j + 1))
    coefficients = dct @ cells @ dct.T
    median = np.sort(coefficients.ravel())[127]
    bits = coefficients > median
    words = [int(sum(int(bit) << j for j, bit in enumerate(bits[row]))) for row in range(16)]
    return "".join(f"{words[row]:04x}" for row in reversed(range(16))), quality


def _window(length: int) -> int:
    return (length + 2 * 64 - 1) // (2 * 64)


def _box(line: Floats, full: int) -> Floats:
    """The reference's 1D box filter: output o averages inputs o - (full - half) to o + half - 1,
    clipped at the ends."""
    half = (full + 2) // 2
    sums = np.concatenate(([0.0], np.cumsum(line)))
    outputs = np.arange(len(line))
    low = np.maximum(0, outputs - (full - half))
    high = np.minimum(len(line), outputs + half)
    result: Floats = (sums[high] - sums[low]) / (high - low)
    return result


def _quality(cells: Floats) -> int:
    down = np.trunc(np.abs((cells[:-1, :] - cells[1:, :]) * 100 / 255)).sum()
    across = np.trunc(np.abs((cells[:, :-1] - cells[:, 1:]) * 100 / 255)).sum()
    return min(100, int(down + across) // 90)

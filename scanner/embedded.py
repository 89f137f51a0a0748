"""Finding the pictures inside a picture: a photo in a screenshot's UI chrome, in letterboxing with a
gradient, in a post with its caption, or the tiles of a collage.

Pure functions on a PIL image. The image is reduced to at most :data:`WORK_SIDE` pixels a side and
read as two maps: *texture* (local gradient energy: high almost everywhere in a photo, low on flat or
smooth chrome, in short runs on text) and *steps* (sharp changes of level between neighbouring rows or
columns: a pasted picture's edges are long straight runs of them). Candidate edges are the rows and
columns with the longest runs of steps, and the image's own borders. A box made of four candidates is a
picture only when clearly so: it is textured inside, its surroundings are not (chrome, captions,
gradients), each of its edges inside the image is a straight step along most of its length, and it is
large enough. Of those the largest is kept; then it (or the whole image when none was found) is split
along a straight seam crossing it whole, twice at most (collages of up to four), each part textured.
A plain photo, a texture or an image with a uniform frame (trimmed before, :mod:`scanner.borders`)
yields nothing: it has no textured box with quiet surroundings and no seam crossing it whole.
"""

from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import numpy.typing as npt
from PIL import Image

WORK_SIDE = 384
"""The image is reduced (box filter) to at most this many pixels a side before it is read."""
STEP = 10.0
"""Smallest change of level (0-255) across an edge, two pixels apart, that counts as a step."""
TEXTURE = 1.0
"""Mean gradient (levels per pixel, over a 5x5 window) above which a pixel is textured."""
EDGE_COVERAGE = 0.6
"""Share of an edge's length that must be steps for a side of a box inside the image..."""
WEAK_EDGE = 0.3
"""...or this share where the surroundings are quiet (at most :data:`QUIET` textured: a gradient, a
blurred band) and the picture's edge may be close to their colour."""
QUIET = 0.05
BACKGROUND = 0.6
"""Largest share of pixels of one level (within two) in each strip of a box (a quarter of it across
or down): more is a page of text or chrome on its background."""
SEAM_COVERAGE = 0.85
"""Share of a seam's length that must be steps for a collage's split."""
INSIDE_TEXTURED = 0.4
"""Share of a box's pixels that must be textured."""
OUTSIDE_TEXTURED = 0.25
"""Largest share of textured pixels just outside a box's side inside the image: a picture pasted on
chrome has a margin, a bar or a gradient there, not more of a picture."""
EDGE_TEXTURED = 0.35
"""Smallest share of textured pixels just inside each such side: the picture reaches its edge."""
BAND = 0.04
"""Width of the band inside a side, as a share of the box's shorter side."""
GAP = 3
"""Width in work pixels of the band outside a side..."""
AWAY = (4, 8)
"""...and its distances from the side, the quieter counts (the edge's own gradient is not the
surroundings' texture; a bubble's or a frame's edge may be close)."""
MIN_AREA = 0.12
"""A box covers at least this share of the image."""
MIN_SIDE = 0.2
"""Each side of a box is at least this share of the image's side."""
SEAM_CONTRAST = 0.5
"""How much more of a seam than of the lines :data:`SEAM_APART` beside it must be steps."""
SEAM_APART = 4
GUTTER = 8
"""Two seams at most this many work pixels apart are the edges of one gutter."""
PART = 0.25
"""Each part of a split is at least this share of the split box's side."""
MIN_MARGIN = 0.03
"""A box leaves at least this share of a side of the image outside it, else it is the whole image."""
CANDIDATES = 8
"""Candidate edges per direction, besides the image's borders: the rows (columns) with the longest runs."""

Box = tuple[int, int, int, int]
"""left, top, right, bottom (exclusive), in pixels of the image given."""


@dataclass(frozen=True)
class _Maps:
    """Cumulative sums of the work image's textured pixels (2-D) and of its steps along rows and
    columns, for O(1) shares of any box or edge."""

    textured: npt.NDArray[np.float64]  # (h + 1, w + 1)
    row_steps: npt.NDArray[np.int64]  # (h, w + 1): steps between row y - 1 and y + 1, along x
    column_steps: npt.NDArray[np.int64]  # (w, h + 1): steps between column x - 1 and x + 1, along y
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
        left, top, right, bottom = box
        t = self.textured
        total = t[bottom, right] - t[top, right] - t[bottom, left] + t[top, left]
        return float(total) / max(1, (right - left) * (bottom - top))

    def row_edge(self, y: int, left: int, right: int) -> float:
        """Share of steps along row ``y`` from ``left`` to ``right``; 1 at the image's border."""
        height = self.size[1]
        if y <= 0 or y >= height:
            return 1.0
        steps = self.row_steps[min(y, height - 1)]
        return float(steps[right] - steps[left]) / max(1, right - left)

    def column_edge(self, x: int, top: int, bottom: int) -> float:
        width = self.size[0]
        if x <= 0 or x >= width:
            return 1.0
        steps = self.column_steps[min(x, width - 1)]
        return float(steps[bottom] - steps[top]) / max(1, bottom - top)


def find_regions(image: Image.Image, limit: int) -> list[Box]:
    """At most ``limit`` boxes of pictures inside ``image`` (none for a plain picture): the box of a
    picture in non-picture surroundings, or the parts of a collage (of the box, or of the image)."""
    if limit <= 0 or min(image.size) < 32:
        return []
    work, scale = _reduced(image)
    maps = _maps(work)
    width, height = maps.size
    found = _picture_box(maps)
    parts = _split(maps, found or (0, 0, width, height), depth=2)
    boxes = parts if len(parts) > 1 else ([found] if found is not None else [])
    return [_scaled(box, scale, image.size) for box in boxes[:limit]]


def _reduced(image: Image.Image) -> tuple[npt.NDArray[np.float32], float]:
    gray = image.convert("L")
    scale = max(1.0, max(gray.size) / WORK_SIDE)
    if scale > 1:
        size = (max(1, round(gray.width / scale)), max(1, round(gray.height / scale)))
        gray = gray.resize(size, Image.Resampling.BOX)
    return np.asarray(gray, dtype=np.float32), scale


def _maps(pixels: npt.NDArray[np.float32]) -> _Maps:
    dy = np.zeros_like(pixels)
    dx = np.zeros_like(pixels)
    dy[1:-1] = np.abs(pixels[2:] - pixels[:-2])
    dx[:, 1:-1] = np.abs(pixels[:, 2:] - pixels[:, :-2])
    gradient = (np.maximum(dx, dy) / 2).astype(np.float32)
    textured = _box_mean(gradient, 2) >= TEXTURE
    return _Maps(
        textured=_cumulative2(textured),
        row_steps=_cumulative_rows(_closed(dy >= STEP)),
        column_steps=_cumulative_rows(_closed((dx >= STEP).T)),
        levels=np.clip(pixels + 0.5, 0, 255).astype(np.uint8),
    )


def _closed(steps: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """Steps along each row with single-pixel gaps filled (a JPEG'd edge is not quite continuous)."""
    filled = steps.copy()
    filled[:, 1:-1] |= steps[:, :-2] & steps[:, 2:]
    return filled


def _box_mean(values: npt.NDArray[np.float32], radius: int) -> npt.NDArray[np.float32]:
    padded = np.pad(values, radius, mode="edge")
    sums = _cumulative2(padded)
    side = 2 * radius + 1
    height, width = values.shape
    window = (
        sums[side : side + height, side : side + width]
        - sums[:height, side : side + width]
        - sums[side : side + height, :width]
        + sums[:height, :width]
    )
    return (window / side**2).astype(np.float32)


def _cumulative2(values: npt.NDArray[np.generic]) -> npt.NDArray[np.float64]:
    sums = np.zeros((values.shape[0] + 1, values.shape[1] + 1), dtype=np.float64)
    sums[1:, 1:] = np.asarray(values, dtype=np.float64).cumsum(0).cumsum(1)
    return sums


def _cumulative_rows(values: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
    sums = np.zeros((values.shape[0], values.shape[1] + 1), dtype=np.int64)
    sums[:, 1:] = values.cumsum(1)
    return sums


def _candidates(steps: npt.NDArray[np.int64], length: int) -> list[int]:
    """Both borders and the lines (rows of ``steps``' cumulative sums) with the longest runs of steps,
    at least a fifth of the side long, each the longest within two lines of it."""
    runs = _longest_runs(np.diff(steps, axis=1) > 0)
    picked: list[int] = []
    for line in np.argsort(-runs, kind="stable").tolist():
        if runs[line] < MIN_SIDE * length or len(picked) == CANDIDATES:
            break
        if all(abs(line - other) > 2 for other in picked):
            picked.append(line)
    return sorted({0, len(runs), *picked})


def _longest_runs(rows: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
    """The length of the longest run of True in each row."""
    padded = np.zeros((rows.shape[0], rows.shape[1] + 2), dtype=np.int8)
    padded[:, 1:-1] = rows
    changes = np.diff(padded, axis=1)
    longest = np.zeros(rows.shape[0], dtype=np.int64)
    starts, ends = np.nonzero(changes == 1), np.nonzero(changes == -1)
    lengths = ends[1] - starts[1]  # both in row order, one end per start
    np.maximum.at(longest, starts[0], lengths)
    return longest


def _picture_box(maps: _Maps) -> Box | None:
    """The box that is clearly a picture in non-picture surroundings, if any: of several, the one with
    the straightest edges, then the smallest (a bar or a bubble around a picture has straight edges
    too). Boxes are tried in that order, the first that holds is the one."""
    width, height = maps.size
    rows = np.array(_candidates(maps.row_steps, width))
    columns = np.array(_candidates(maps.column_steps, height))
    across = _coverage(maps.row_steps, rows, columns)  # [row, left, right]
    down = _coverage(maps.column_steps, columns, rows).transpose(1, 2, 0)  # [top, bottom, column]
    # [top, bottom, left, right]: the least share of steps along the four sides
    straightness = np.minimum(
        np.minimum(across[:, None, :, :], across[None, :, :, :]),
        np.minimum(down[:, :, :, None], down[:, :, None, :]),
    )
    top, bottom, left, right = np.meshgrid(rows, rows, columns, columns, indexing="ij")
    sized = (bottom - top >= MIN_SIDE * height) & (right - left >= MIN_SIDE * width)
    picked = np.flatnonzero((sized & (straightness >= WEAK_EDGE)).ravel())
    area = ((bottom - top) * (right - left)).ravel()[picked]
    order = np.lexsort((area, -np.round(straightness.ravel()[picked], 1)))
    for index in picked[order].tolist():
        box = (int(left.flat[index]), int(top.flat[index]), int(right.flat[index]), int(bottom.flat[index]))
        if _is_picture(maps, box):
            return box
    return None


def _coverage(
    steps: npt.NDArray[np.int64], lines: npt.NDArray[np.int64], ends: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    """[line, start, end]: the share of steps along each line (the best of it and its two
    neighbours) from each end to each later one; 1 for a line on the image's border."""
    count = steps.shape[0]
    best = np.zeros((len(lines), len(ends), len(ends)))
    span = np.maximum(1, ends[None, :] - ends[:, None])
    for shift in (-1, 0, 1):
        along = steps[np.clip(lines + shift, 0, count - 1)][:, ends]
        best = np.maximum(best, (along[:, None, :] - along[:, :, None]) / span)
    best[(lines <= 0) | (lines >= count)] = 1.0
    return best


def _is_picture(maps: _Maps, box: Box) -> bool:
    """Whether ``box`` is clearly a picture in non-picture surroundings (cheapest tests first)."""
    width, height = maps.size
    left, top, right, bottom = box
    area = (right - left) * (bottom - top)
    margins = (left / width, top / height, (width - right) / width, (height - bottom) / height)
    if area < MIN_AREA * width * height or max(margins) < MIN_MARGIN:
        return False
    if maps.texture(box) < INSIDE_TEXTURED:
        return False
    band = max(2, round(BAND * min(right - left, bottom - top)))
    inner_bands = (
        (left, top, right, top + band),
        (left, bottom - band, right, bottom),
        (left, top, left + band, bottom),
        (right - band, top, right, bottom),
    )
    if any(maps.texture(inner) < EDGE_TEXTURED for inner in inner_bands):
        return False  # the picture reaches each side of its box, the image's border too
    for side in range(4):
        if not _side_holds(maps, box, side):
            return False
    return all(maps.background(part) <= BACKGROUND for part in _strips(box))


def _side_holds(maps: _Maps, box: Box, side: int) -> bool:
    """Side ``side`` (top, bottom, left, right) of ``box`` is on the image's border, or is a straight
    edge with no more picture beyond it."""
    width, height = maps.size
    left, top, right, bottom = box
    at = (top, bottom, left, right)[side]
    if at in (0, (height, height, width, width)[side]):
        return True
    if side < 2:
        coverage = max(maps.row_edge(at + d, left, right) for d in (-1, 0, 1))
    else:
        coverage = max(maps.column_edge(at + d, top, bottom) for d in (-1, 0, 1))
    if coverage < WEAK_EDGE:
        return False
    bands = [_outside(box, side, away, width, height) for away in AWAY]
    textures = [maps.texture(band) for band in bands]
    if not any(
        texture <= OUTSIDE_TEXTURED or maps.background(band) > BACKGROUND
        for texture, band in zip(textures, bands, strict=True)
    ):
        return False  # more picture around the box: it is part of a picture, not one
    return coverage >= EDGE_COVERAGE or min(textures) <= QUIET


def _strips(box: Box, count: int = 4) -> list[Box]:
    """``box`` cut into ``count`` strips across, then ``count`` strips down."""
    left, top, right, bottom = box
    xs = np.linspace(left, right, count + 1).astype(int).tolist()
    ys = np.linspace(top, bottom, count + 1).astype(int).tolist()
    across = [(left, a, right, b) for a, b in pairwise(ys)]
    return across + [(a, top, b, bottom) for a, b in pairwise(xs)]


def _outside(box: Box, side: int, away: int, width: int, height: int) -> Box:
    """The band :data:`GAP` wide, ``away`` pixels out of side ``side`` (top, bottom, left, right) of
    ``box``, within the image."""
    left, top, right, bottom = box
    if side == 0:
        top, bottom = top - away - GAP, top - away
    elif side == 1:
        top, bottom = bottom + away, bottom + away + GAP
    elif side == 2:
        left, right = left - away - GAP, left - away
    else:
        left, right = right + away, right + away + GAP
    left, top = min(width, max(0, left)), min(height, max(0, top))
    return left, top, max(left, min(width, right)), max(top, min(height, bottom))


def _split(maps: _Maps, box: Box, depth: int) -> list[Box]:
    """``box`` cut along the straightest seam crossing it whole (a line of steps standing out from the
    lines beside it; each part textured, or one blank and left out), the parts cut again down to
    ``depth``; ``[box]`` when there is no such seam. A gutter (two seams close together) is left out."""
    if depth == 0:
        return [box]
    left, top, right, bottom = box
    seams: list[tuple[float, tuple[Box, Box]]] = []
    for low, high, strength in _seams(maps.column_steps, left, right, top, bottom):
        seams.append((strength, ((left, top, low, bottom), (high, top, right, bottom))))
    for low, high, strength in _seams(maps.row_steps, top, bottom, left, right):
        seams.append((strength, ((left, top, right, low), (left, high, right, bottom))))
    for _, parts in sorted(seams, key=lambda seam: -seam[0]):
        textures = [maps.texture(part) for part in parts]
        if min(textures) >= INSIDE_TEXTURED:
            return [piece for part in parts for piece in _split(maps, part, depth - 1)]
        if max(textures) >= INSIDE_TEXTURED and min(textures) <= QUIET:  # a blank cell: left out
            return _split(maps, parts[int(np.argmax(textures))], depth - 1)
    return [box]


def _seams(
    steps: npt.NDArray[np.int64], first: int, last: int, start: int, end: int
) -> list[tuple[int, int, float]]:
    """The seams across ``first``-``last`` (in its middle half): lines that are steps along at least
    :data:`SEAM_COVERAGE` of ``start``-``end`` and stand out from a line beside them, each as where
    the part before it ends, where the part after it begins (around a gutter: its other seam within
    :data:`GUTTER` lines) and how much it stands out."""
    share = (steps[:, end] - steps[:, start]) / max(1, end - start)
    lines = np.arange(first + int(PART * (last - first)), last - int(PART * (last - first)) + 1)
    lines = lines[(lines > SEAM_APART) & (lines < len(share) - SEAM_APART)]
    beside = np.minimum(share[lines - SEAM_APART], share[lines + SEAM_APART])  # a gutter has two
    strength = share[lines] - beside
    kept = (share[lines] >= SEAM_COVERAGE) & (strength >= SEAM_CONTRAST)
    found = lines[kept].tolist()
    seams = []
    for line, stands in zip(found, strength[kept].tolist(), strict=True):
        near = [other for other in found if abs(other - line) <= GUTTER]
        seams.append((min(near), max(near), stands))
    return seams


def _scaled(box: Box, scale: float, size: tuple[int, int]) -> Box:
    left, top, right, bottom = box
    return (
        max(0, round(left * scale)),
        max(0, round(top * scale)),
        min(size[0], round(right * scale)),
        min(size[1], round(bottom * scale)),
    )

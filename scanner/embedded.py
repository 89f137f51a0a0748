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
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

from scanner.glance import worth_a_look
from scanner.lines import STEP, along_rows, seams

WORK_SIDE = 384
"""The image is reduced (box filter) to at most this many pixels a side before it is read, once a
glance (:func:`scanner.glance.worth_a_look`) found chrome or a seam in it."""
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
FLAT = 2
"""Largest change of level two pixels apart on a flat pixel (chrome, a page's background; a photo's
noise is more)..."""
FLAT_SHARE = 0.3
"""...and the least share of them in a band beside a box for its gray levels to be worth counting
(:data:`BACKGROUND`): text or chrome on its background is that flat between its strokes."""
INSIDE_TEXTURED = 0.2
"""Share of a box's pixels that must be textured (a drawing's flat colours and gradients are not: its
outlines are; chrome inside it is ruled out by :data:`BACKGROUND`)..."""
CELL_TEXTURED = 0.4
"""...and of each part of a collage: a seam inside a picture must not cut it."""
OUTSIDE_TEXTURED = 0.25
"""Largest share of textured pixels just outside a box's side inside the image: a picture pasted on
chrome has a margin, a bar or a gradient there, not more of a picture."""
EDGE_TEXTURED = 0.35
"""Smallest share of textured pixels just inside each such side: the picture reaches its edge..."""
SHARP_EDGE = 0.9
"""...unless the side, inside the image, is a step along this share of its length at least: a sky or a
wall, smooth, that ends sharply on chrome of another level."""
BAND = 0.04
"""Width of the band inside a side, as a share of the box's shorter side."""
GAP = 3
"""Width in work pixels of the band outside a side..."""
AWAY = (4, 8)
"""...and its distances from the side, the quieter counts (the edge's own gradient is not the
surroundings' texture; a bubble's or a frame's edge may be close)..."""
WIDE = (12, 20)
"""...or the whole band one of these wide from the nearer distance, when it is a background (a heading
or a caption close to the picture: its lines and the gaps between them)."""
MIN_AREA = 0.12
"""A box covers at least this share of the image."""
MIN_SIDE = 0.2
"""Each side of a box is at least this share of the image's side."""
MIN_MARGIN = 0.03
"""A box leaves at least this share of a side of the image outside it, else it is the whole image."""
CANDIDATES = 12
"""Candidate edges per direction, besides the image's borders: the rows (columns) with the longest runs."""

Box = tuple[int, int, int, int]
"""left, top, right, bottom (exclusive), in pixels of the image given."""


@dataclass(frozen=True)
class _Maps:
    """Cumulative sums of the work image's textured pixels (2-D) and of its steps along rows and
    columns, for O(1) shares of any box or edge."""

    textured: npt.NDArray[np.int32]  # (h + 1, w + 1)
    flat: npt.NDArray[np.int32]  # (h + 1, w + 1): pixels whose neighbours two apart differ by <= FLAT
    row_steps: npt.NDArray[np.int16]  # (h, w + 1): steps between row y - 1 and y + 1, along x
    column_steps: npt.NDArray[np.int16]  # (w, h + 1): steps between column x - 1 and x + 1, along y
    row_runs: npt.NDArray[np.int16]  # (h,): the longest run of steps along each row
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
        return float(_share(self.textured, *box))


def find_regions(image: Image.Image, limit: int) -> list[Box]:
    """At most ``limit`` boxes of pictures inside ``image`` (none for a plain picture): the box of a
    picture in non-picture surroundings, or the parts of a collage (of the box, or of the image)."""
    if limit <= 0 or min(image.size) < 32 or not worth_a_look(image):
        return []
    work, scale = _reduced(image)
    maps = _maps(work)
    width, height = maps.size
    found = _picture_box(maps)
    parts = _split(maps, found or (0, 0, width, height), depth=2)
    boxes = parts if len(parts) > 1 else ([found] if found is not None else [])
    return [_scaled(box, scale, image.size) for box in boxes[:limit]]


def _reduced(image: Image.Image) -> tuple[npt.NDArray[np.int16], float]:
    """The image's gray levels, its longer side reduced (box filter) to :data:`WORK_SIDE` if longer."""
    gray = image.convert("L")
    scale = max(1.0, max(gray.size) / WORK_SIDE)
    if scale > 1:
        size = (max(1, round(gray.width / scale)), max(1, round(gray.height / scale)))
        gray = gray.resize(size, Image.Resampling.BOX)
    return np.asarray(gray, dtype=np.int16), scale


def _maps(pixels: npt.NDArray[np.int16]) -> _Maps:
    dy = np.zeros_like(pixels)
    dx = np.zeros_like(pixels)
    dy[1:-1] = np.abs(pixels[2:] - pixels[:-2])
    dx[:, 1:-1] = np.abs(pixels[:, 2:] - pixels[:, :-2])
    # mean of max(dx, dy) / 2 over a 5x5 window >= TEXTURE, in whole levels
    gradient = np.maximum(dx, dy)
    row_steps, row_runs = _steps(_closed(dy >= STEP), pixels.shape[1])
    column_steps, column_runs = _steps(_closed((dx >= STEP).T), pixels.shape[0])
    textured = _box_sum(gradient, 2) >= 2 * TEXTURE * 25
    return _Maps(
        textured=_cumulative2(textured),
        flat=_cumulative2(gradient <= FLAT),
        row_steps=row_steps,
        column_steps=column_steps,
        row_runs=row_runs,
        column_runs=column_runs,
        levels=pixels.astype(np.uint8),
    )


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
    (lines,) = np.nonzero(sums[:, -1] >= MIN_SIDE * length)
    if len(lines):
        counts = sums[lines, 1:]
        before = np.maximum.accumulate(np.where(steps[lines], 0, counts).T, axis=0).T
        runs[lines] = (counts - before).max(axis=1)
    return sums, runs


def _candidates(runs: npt.NDArray[np.int16], length: int) -> list[int]:
    """Both borders and the lines with the longest runs of steps (``runs``: each line's longest), at
    least a fifth of the side long, each the longest within two lines of it."""
    picked: list[int] = []
    for line in np.argsort(-runs, kind="stable").tolist():
        if runs[line] < MIN_SIDE * length or len(picked) == CANDIDATES:
            break
        if all(abs(line - other) > 2 for other in picked):
            picked.append(line)
    return sorted({0, len(runs), *picked})


def _picture_box(maps: _Maps) -> Box | None:
    """The box that is clearly a picture in non-picture surroundings, if any: of several, the one with
    the straightest edges, then the smallest (a bar or a bubble around a picture has straight edges
    too). Boxes are tried in that order, the first that holds is the one."""
    width, height = maps.size
    rows = np.array(_candidates(maps.row_runs, width))
    columns = np.array(_candidates(maps.column_runs, height))
    across = _coverage(maps.row_steps, rows, columns)  # [row, left, right]
    down = _coverage(maps.column_steps, columns, rows).transpose(1, 2, 0)  # [top, bottom, column]
    # [top, bottom, left, right]: the least share of steps along the four sides
    straightness = np.minimum(
        np.minimum(across[:, None, :, :], across[None, :, :, :]),
        np.minimum(down[:, :, :, None], down[:, :, None, :]),
    )
    shape = straightness.shape
    coverages = (  # of each side, as the box's sides are: top, bottom, left, right
        np.broadcast_to(across[:, None, :, :], shape),
        np.broadcast_to(across[None, :, :, :], shape),
        np.broadcast_to(down[:, :, :, None], shape),
        np.broadcast_to(down[:, :, None, :], shape),
    )
    top, bottom, left, right = np.meshgrid(rows, rows, columns, columns, indexing="ij")
    sized = (bottom - top >= MIN_SIDE * height) & (right - left >= MIN_SIDE * width)
    picked = np.flatnonzero((sized & (straightness >= WEAK_EDGE)).ravel())
    box = tuple(corner.ravel()[picked] for corner in (left, top, right, bottom))
    picked = picked[_plausible(maps, box, [coverage.ravel()[picked] for coverage in coverages])]
    area = ((bottom - top) * (right - left)).ravel()[picked]
    order = np.lexsort((area, -np.round(straightness.ravel()[picked], 1)))
    for index in picked[order].tolist():
        found = (int(left.flat[index]), int(top.flat[index]), int(right.flat[index]), int(bottom.flat[index]))
        if _is_picture(maps, found):
            return found
    return None


def _plausible(
    maps: _Maps, box: tuple[npt.NDArray[np.int_], ...], coverages: list[npt.NDArray[np.float64]]
) -> npt.NDArray[np.bool_]:
    """The tests of :func:`_is_picture` but the costly counts of gray levels, for many boxes at once
    (arrays of their left, top, right and bottom, and the share of steps along each side): large
    enough, textured inside and along each side inside; each side inside the image a straight edge
    with a band beside it quiet, or flat enough to be a background (:func:`_is_picture` counts its
    levels). A plain photo's boxes end here."""
    width, height = maps.size
    left, top, right, bottom = box
    margin = np.maximum(np.maximum(left / width, top / height), (width - right) / width)
    keep = ((right - left) * (bottom - top) >= MIN_AREA * width * height) & (
        np.maximum(margin, (height - bottom) / height) >= MIN_MARGIN
    )
    keep &= _share(maps.textured, left, top, right, bottom) >= INSIDE_TEXTURED
    for side in range(4):
        on_border = (top, bottom, left, right)[side] == (0, height, 0, width)[side]
        sharp = ~on_border & (coverages[side] >= SHARP_EDGE)
        keep &= (_share(maps.textured, *_inner(box, side)) >= EDGE_TEXTURED) | sharp
        bands = [_outside(box, side, away, width, height) for away in AWAY]
        textures = [_share(maps.textured, *band) for band in bands]
        beside = np.zeros_like(keep)
        for wide in WIDE:
            beside |= _share(maps.flat, *_outside(box, side, AWAY[0], width, height, wide)) >= FLAT_SHARE
        for texture, band in zip(textures, bands, strict=True):
            beside |= (texture <= OUTSIDE_TEXTURED) | (_share(maps.flat, *band) >= FLAT_SHARE)
        straight = (coverages[side] >= EDGE_COVERAGE) | (np.min(textures, axis=0) <= QUIET)
        keep &= on_border | (beside & straight)
    return keep


def _share(sums: npt.NDArray[np.int32], left: Any, top: Any, right: Any, bottom: Any) -> Any:
    """The share of marked pixels in boxes (ints or arrays of them), from the marks' cumulative sums."""
    total = sums[bottom, right] - sums[top, right] - sums[bottom, left] + sums[top, left]
    return total / np.maximum(1, (right - left) * (bottom - top))


def _inner(box: Any, side: int) -> tuple[Any, Any, Any, Any]:
    """The band inside side ``side`` (top, bottom, left, right) of ``box`` (ints or arrays), a share
    :data:`BAND` of the box's shorter side wide (two pixels at least)."""
    left, top, right, bottom = box
    band = np.maximum(2, np.round(BAND * np.minimum(right - left, bottom - top))).astype(int)
    return (
        (left, top, right, top + band),
        (left, bottom - band, right, bottom),
        (left, top, left + band, bottom),
        (right - band, top, right, bottom),
    )[side]


def _coverage(
    steps: npt.NDArray[np.int16], lines: npt.NDArray[np.int64], ends: npt.NDArray[np.int64]
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
    """Whether ``box``, :func:`_plausible`, is clearly a picture in non-picture surroundings: beside each
    side inside the image a quiet band or a background (text or chrome on it: no more picture), and
    no quarter of it a page's or chrome's background."""
    width, height = maps.size
    for side in range(4):
        if (box[1], box[3], box[0], box[2])[side] in (0, (height, height, width, width)[side]):
            continue
        bands = [_outside(box, side, away, width, height) for away in AWAY]
        quiet = (maps.texture(b) <= OUTSIDE_TEXTURED or maps.background(b) > BACKGROUND for b in bands)
        wide = (_outside(box, side, AWAY[0], width, height, gap) for gap in WIDE)
        if not any(quiet) and not any(maps.background(band) > BACKGROUND for band in wide):
            return False  # more picture around the box: it is part of a picture, not one
    return all(maps.background(part) <= BACKGROUND for part in _strips(box))


def _strips(box: Box, count: int = 4) -> list[Box]:
    """``box`` cut into ``count`` strips across, then ``count`` strips down."""
    left, top, right, bottom = box
    xs = np.linspace(left, right, count + 1).astype(int).tolist()
    ys = np.linspace(top, bottom, count + 1).astype(int).tolist()
    across = [(left, a, right, b) for a, b in pairwise(ys)]
    return across + [(a, top, b, bottom) for a, b in pairwise(xs)]


def _outside(
    box: Any, side: int, away: int, width: int, height: int, gap: int = GAP
) -> tuple[Any, Any, Any, Any]:
    """The band ``gap`` wide, ``away`` pixels out of side ``side`` (top, bottom, left, right) of ``box``
    (ints or arrays), within the image."""
    left, top, right, bottom = box
    if side == 0:
        top, bottom = top - away - gap, top - away
    elif side == 1:
        top, bottom = bottom + away, bottom + away + gap
    elif side == 2:
        left, right = left - away - gap, left - away
    else:
        left, right = right + away, right + away + gap
    left, top = np.minimum(width, np.maximum(0, left)), np.minimum(height, np.maximum(0, top))
    return left, top, np.maximum(left, np.minimum(width, right)), np.maximum(top, np.minimum(height, bottom))


def _split(maps: _Maps, box: Box, depth: int) -> list[Box]:
    """``box`` cut along the straightest seam crossing it whole (a line of steps standing out from the
    lines beside it; each part textured, or one blank and left out), the parts cut again down to
    ``depth``; ``[box]`` when there is no such seam. A gutter (two seams close together) is left out."""
    if depth == 0:
        return [box]
    left, top, right, bottom = box
    cuts: list[tuple[float, tuple[Box, Box]]] = []
    for low, high, strength in seams(maps.column_steps, left, right, top, bottom):
        cuts.append((strength, ((left, top, low, bottom), (high, top, right, bottom))))
    for low, high, strength in seams(maps.row_steps, top, bottom, left, right):
        cuts.append((strength, ((left, top, right, low), (left, high, right, bottom))))
    for _, parts in sorted(cuts, key=lambda cut: -cut[0]):
        textures = [maps.texture(part) for part in parts]
        if min(textures) >= CELL_TEXTURED:
            return [piece for part in parts for piece in _split(maps, part, depth - 1)]
        if max(textures) >= CELL_TEXTURED and min(textures) <= QUIET:  # a blank cell: left out
            return _split(maps, parts[int(np.argmax(textures))], depth - 1)
    return [box]


def _scaled(box: Box, scale: float, size: tuple[int, int]) -> Box:
    left, top, right, bottom = box
    return (
        max(0, round(left * scale)),
        max(0, round(top * scale)),
        min(size[0], round(right * scale)),
        min(size[1], round(bottom * scale)),
    )

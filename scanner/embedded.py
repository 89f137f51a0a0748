"""Finding the pictures inside a picture: a photo in a screenshot's UI chrome, in letterboxing with a
gradient, in a post with its caption, or the tiles of a collage.

Pure functions on a PIL image. The image is reduced to at most :data:`scanner.regionmaps.WORK_SIDE`
pixels a side and read as maps (:mod:`scanner.regionmaps`): *texture* (local gradient energy: high
almost everywhere in a photo, low on flat or smooth chrome, in short runs on text), *steps* (sharp
changes of gray level between neighbouring rows or columns) and *edges* (steps in any colour channel: a
blue sky on a gray card). Candidate sides are the rows and columns with the longest runs of edges, and
the image's own borders. A box made of four candidates is a picture only when clearly so: it is
textured inside, its surroundings are not (chrome, captions, gradients), each of its sides inside the
image is a straight edge along most of its length, and it is large enough; up to three such boxes are
kept, the tightest, the widest and the smallest framed one (:func:`_picture_boxes`). The image is also
split along straight seams of steps crossing it whole, twice at most, each part textured: a collage of
up to four when its parts cover it, else the first box is split the same way (a collage in chrome).
Each side inside the image is then moved to the exact line of its edge (:mod:`scanner.snapping`). A
plain photo, a texture or an image with a uniform frame (trimmed before, :mod:`scanner.borders`) yields
nothing: it has no textured box with quiet surroundings and no seam crossing it whole.
"""

from itertools import pairwise
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

from scanner.glance import worth_a_look
from scanner.lines import seams
from scanner.regionmaps import MIN_RUN, Box, Maps, read_maps, reduced, share
from scanner.snapping import EDGE_COVERAGE, scaled, snapped

WEAK_EDGE = 0.3
"""Share of a side's length inside the image that must be edges where the surroundings are quiet (at
most :data:`QUIET` textured: a gradient, a blurred band) and the picture's edge may be close to their
colour; elsewhere :data:`scanner.snapping.EDGE_COVERAGE`."""
QUIET = 0.05
BACKGROUND = 0.6
"""Largest share of pixels of one level (within two) in each strip of a box (a quarter of it across
or down): more is a page of text or chrome on its background."""
FLAT_SHARE = 0.3
"""The least share of flat pixels (:data:`scanner.regionmaps.FLAT`) in a band beside a box for its gray
levels to be worth counting (:data:`BACKGROUND`): text or chrome on its background is that flat
between its strokes."""
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
COLLAGE = 0.85
"""The image's parts (:func:`_split`) are a collage, whatever else is found, when they cover this share
of it (a screenshot's parts leave its bars and margins out)..."""
FILLS = 0.5
TILE = 0.9
"""...unless the first picture found fills between these shares of a part: the part is that picture
with some chrome (a phone's toolbar); less is a flat patch or a block of text of a tile taken for a
picture, more is the tile itself."""


def find_regions(image: Image.Image, limit: int) -> list[Box]:
    """At most ``limit`` boxes of pictures inside ``image`` (none for a plain picture): the box of a
    picture in non-picture surroundings, or the parts of a collage (of the box, or of the image)."""
    if limit <= 0 or min(image.size) < 32 or not worth_a_look(image):
        return []
    work, scale = reduced(image)
    maps = read_maps(work)
    width, height = maps.size
    cells = _split(maps, (0, 0, width, height), depth=2)
    proper, found = _picture_boxes(maps)
    if len(cells) > 1 and (
        not found or (_area(cells) >= COLLAGE * width * height and not _in_chrome(proper, cells))
    ):
        boxes = list(dict.fromkeys([*cells, *found]))  # a collage (a flat patch of a tile may be found)
    else:
        inside = _split(maps, found[0], depth=2) if found else []  # a collage in chrome
        boxes = list(dict.fromkeys([*inside, *found])) if len(inside) > 1 else found
    boxes = [scaled(box, scale, image.size) for box in boxes[:limit]]
    return snapped(image, boxes, int(np.ceil(scale)) + 1)


def _candidates(runs: npt.NDArray[np.int16], length: int) -> list[int]:
    """Both borders and the lines with the longest runs of edges (``runs``: each line's longest), at
    least :data:`scanner.regionmaps.MIN_RUN` of the side long, each the longest within two lines of it."""
    picked: list[int] = []
    for line in np.argsort(-runs, kind="stable").tolist():
        if runs[line] < MIN_RUN * length or len(picked) == CANDIDATES:
            break
        if all(abs(line - other) > 2 for other in picked):
            picked.append(line)
    return sorted({0, len(runs), *picked})


def _picture_boxes(maps: Maps) -> tuple[Box | None, list[Box]]:
    """The boxes that are clearly a picture in non-picture surroundings, if any: the first that holds
    in each of three orders, each box once. Of the straightest edges, the smallest (a bar or a bubble
    around a picture has straight edges too); of the straightest, the largest (a flat part of a
    picture, a flag's field, is quiet surroundings for a box inside it), where a framed box (each side
    a sharp edge or the image's border) may be mostly one level (a drawing's flat sky); and the
    smallest framed box even with margins of one level inside (a page of text on its own background)."""
    width, height = maps.size
    rows = np.array(_candidates(maps.row_runs, width))
    columns = np.array(_candidates(maps.column_runs, height))
    across = _coverage(maps.row_edges, rows, columns)  # [row, left, right]
    down = _coverage(maps.column_edges, columns, rows).transpose(1, 2, 0)  # [top, bottom, column]
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
    plausible, plain, framed = _plausible(maps, box, [coverage.ravel()[picked] for coverage in coverages])
    picked, plain, framed = picked[plausible], plain[plausible], framed[plausible]
    area = ((bottom - top) * (right - left)).ravel()[picked]
    straightest = -np.round(straightness.ravel()[picked], 1)
    smallest, largest = np.lexsort((area, straightest)), np.lexsort((-area, straightest))
    found: list[Box | None] = []
    passes = (  # the order tried, whether margins of one level may be inside, whether framed counts
        (smallest, False, False),
        (largest, False, True),
        (smallest[framed[smallest]], True, True),
    )
    held: dict[tuple[int, bool, bool], bool] = {}  # a box tried again as before holds as before
    for order, margins, exempt in passes:
        for index in order.tolist():
            at = int(picked[index])
            this = (int(left.flat[at]), int(top.flat[at]), int(right.flat[at]), int(bottom.flat[at]))
            key = (index, margins, exempt and bool(framed[index]))
            if key not in held:
                held[key] = _is_picture(maps, this, [False] * 4 if margins else plain[index].tolist(), key[2])
            if held[key]:
                found.append(this)
                break
        else:
            found.append(None)
    return found[0], list(dict.fromkeys(box for box in found if box is not None))


def _plausible(
    maps: Maps, box: tuple[npt.NDArray[np.int_], ...], coverages: list[npt.NDArray[np.float64]]
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """The tests of :func:`_is_picture` but the costly counts of gray levels, for many boxes at once
    (arrays of their left, top, right and bottom, and the share of steps along each side): large
    enough, textured inside and along each side inside; each side inside the image a straight edge
    with a band beside it quiet, or flat enough to be a background (:func:`_is_picture` counts its
    levels). A plain photo's boxes end here. Also, per box and side, whether the band inside the side
    is plain (neither textured nor a sharp edge: a drawing's flat colour or gradient, or a margin of
    chrome, which :func:`_is_picture` tells apart by its levels), and per box whether it is framed
    (each side a sharp edge or on the image's border)."""
    width, height = maps.size
    left, top, right, bottom = box
    margin = np.maximum(np.maximum(left / width, top / height), (width - right) / width)
    keep = ((right - left) * (bottom - top) >= MIN_AREA * width * height) & (
        np.maximum(margin, (height - bottom) / height) >= MIN_MARGIN
    )
    keep &= share(maps.textured, left, top, right, bottom) >= INSIDE_TEXTURED
    plain = np.zeros((len(keep), 4), dtype=bool)
    framed = np.ones_like(keep)
    for side in range(4):
        on_border = (top, bottom, left, right)[side] == (0, height, 0, width)[side]
        sharp = ~on_border & (coverages[side] >= SHARP_EDGE)
        framed &= on_border | sharp
        plain[:, side] = (share(maps.textured, *_inner(box, side)) < EDGE_TEXTURED) & ~sharp
        bands = [_outside(box, side, away, width, height) for away in AWAY]
        textures = [share(maps.textured, *band) for band in bands]
        beside = np.zeros_like(keep)
        for wide in WIDE:
            beside |= share(maps.flat, *_outside(box, side, AWAY[0], width, height, wide)) >= FLAT_SHARE
        for texture, band in zip(textures, bands, strict=True):
            beside |= (texture <= OUTSIDE_TEXTURED) | (share(maps.flat, *band) >= FLAT_SHARE)
        straight = (coverages[side] >= EDGE_COVERAGE) | (np.min(textures, axis=0) <= QUIET)
        keep &= on_border | (beside & straight)
    return keep, plain, framed


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


def _is_picture(maps: Maps, box: Box, plain: list[bool], framed: bool) -> bool:
    """Whether ``box``, :func:`_plausible`, is clearly a picture in non-picture surroundings: beside each
    side inside the image a quiet band or a background (text or chrome on it: no more picture), inside
    each ``plain`` side no margin of one level (a drawing's colours reach its edge), and, unless it is
    ``framed`` (every side a sharp edge or the image's border: a drawing's flat sky, a page on its own
    background), no quarter of it a page's or chrome's background."""
    width, height = maps.size
    for side in range(4):
        if plain[side] and maps.background(_inner(box, side)) > BACKGROUND:
            return False  # a margin of chrome inside the box, not the picture's edge
        if (box[1], box[3], box[0], box[2])[side] in (0, (height, height, width, width)[side]):
            continue
        bands = [_outside(box, side, away, width, height) for away in AWAY]
        quiet = (maps.texture(b) <= OUTSIDE_TEXTURED or maps.background(b) > BACKGROUND for b in bands)
        wide = (_outside(box, side, AWAY[0], width, height, gap) for gap in WIDE)
        if not any(quiet) and not any(maps.background(band) > BACKGROUND for band in wide):
            return False  # more picture around the box: it is part of a picture, not one
    return framed or all(maps.background(part) <= BACKGROUND for part in _strips(box))


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


def _split(maps: Maps, box: Box, depth: int) -> list[Box]:
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


def _area(boxes: list[Box]) -> int:
    return sum((right - left) * (bottom - top) for left, top, right, bottom in boxes)


def _in_chrome(box: Box | None, cells: list[Box]) -> bool:
    """Whether ``box`` lies inside one of ``cells`` (within two pixels), filling :data:`FILLS` of it
    but not all (the cell is the picture and some chrome, not a tile)."""
    return box is not None and any(
        box[0] >= cell[0] - 2
        and box[1] >= cell[1] - 2
        and box[2] <= cell[2] + 2
        and box[3] <= cell[3] + 2
        and FILLS * _area([cell]) <= _area([box]) < TILE * _area([cell])
        for cell in cells
    )

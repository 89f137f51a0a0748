"""Straightening a picture turned on a uniform fill, so that the scan can hash it upright too.

A copy turned by a few degrees matches none of its picture's hashes: PDQ moves 90-120 bits when 5 % of
the content shifts. An editor or converter turning a picture leaves it on a uniform fill (black, white,
any colour) in one of two forms: on a canvas grown to hold it whole (each canvas edge touches one of its
corners), or within its own frame (its corners cut off). Either way each corner of the canvas is a fill
triangle whose long side is one edge of the turned picture: seen from each side of the canvas, the
picture begins along a straight line, of the same slope on every side. Lines fitted to the four sides
(robustly: the picture's own content may be of the fill's colour along some of an edge) meet at the
picture's corners, and the picture is mapped back upright from them: whole from a grown canvas, its lost
corners in the fill colour from a turn within the frame (measured on the quality set's pictures: within
PDQ 48 of the original 42 times in 57 at 3 degrees, 19 in 59 at 10; cut to the inside instead, 22 and 0).

Pure functions. A picture whose corners are not of one colour (a photo) costs a few pixel reads; a
picture with fill corners but no turned rectangle between them (a screenshot's page, a logo on white, a
dark vignette) yields nothing.
"""

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageChops

from scanner.borders import TOLERANCE

Point = tuple[float, float]
Line = tuple[Point, Point]
Profile = tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]
"""Where the picture begins seen from one side of the canvas: (x, depth) of the columns where it begins
below that side and short of the middle."""

PROBES = ((0, 0), (3, 0), (0, 3), (1, 1))
"""Offsets from each corner of the pixels that must all be of the fill colour."""
MIN_DEGREES = 0.5
"""A smaller turn is left alone (PDQ barely moves; uniform borders are trimmed, not turned)."""
INLIER_DISTANCE = 2.0
"""Pixels off the fitted edge at which a boundary point counts as the picture's content, not its edge
(content of the fill's colour along the edge, the neighbouring edge near a corner)."""
MIN_SHARE = 0.2
"""Share of each side of the canvas along which the picture's edge must be seen."""
MAX_RESIDUAL = 1.2
"""Largest root-mean-square distance, in pixels, of an edge's boundary points from its line."""
MIN_SAMPLES = 8
FITS = 3
"""Rounds of least squares, each on the points near the lines of the round before."""


def straighten(image: Image.Image) -> Image.Image | None:
    """The picture on an RGB ``image`` turned by 0.5-45 degrees either way on a uniform fill, turned
    back upright at its own size; None if ``image`` is not such a picture."""
    fill = _fill(image)
    if fill is None:
        return None
    spread = ImageChops.difference(image, Image.new("RGB", image.size, fill)).split()
    is_fill = np.asarray(ImageChops.lighter(ImageChops.lighter(spread[0], spread[1]), spread[2])) <= TOLERANCE
    lines = _edges([_profile(np.rot90(is_fill, turns)) for turns in range(4)], image.size)
    if lines is None:
        return None
    top, right, bottom, left = (_meet(lines[i], lines[(i + 1) % 4]) for i in range(4))
    rising = math.degrees(math.atan2(left[1] - top[1], top[0] - left[0]))
    ul, ll, lr, ur = (left, bottom, right, top) if rising <= 45 else (top, left, bottom, right)
    width, height = (_length(ul, ur) + _length(ll, lr)) / 2, (_length(ul, ll) + _length(ur, lr)) / 2
    if min(width, height) < MIN_SAMPLES or max(width, height) > 1.5 * max(image.size):  # not a turned copy
        return None
    size = (round(width), round(height))
    across = ((ur[0] - ul[0]) / size[0], (ur[1] - ul[1]) / size[0])  # source step per output pixel
    down = ((ll[0] - ul[0]) / size[1], (ll[1] - ul[1]) / size[1])
    return image.transform(
        size,
        Image.Transform.AFFINE,
        (across[0], down[0], ul[0], across[1], down[1], ul[1]),
        Image.Resampling.BILINEAR,
        fillcolor=fill,
    )


def _fill(image: Image.Image) -> tuple[int, int, int] | None:
    """The colour of the four corners if they are of one colour (JPEG noise allowed), else None."""
    width, height = image.size
    if min(width, height) < 4 * MIN_SAMPLES or image.mode != "RGB":
        return None
    probes: list[tuple[int, ...]] = []
    for dx, dy in PROBES:
        for x, y in (
            (dx, dy),
            (width - 1 - dx, dy),
            (dx, height - 1 - dy),
            (width - 1 - dx, height - 1 - dy),
        ):
            pixel = image.getpixel((x, y))
            assert isinstance(pixel, tuple)
            if probes and _far(pixel, probes[0], 2 * TOLERANCE):  # most photos stop at the second read
                return None
            probes.append(pixel)
    red, green, blue = (int(value) for value in np.median(np.array(probes), axis=0))
    return None if any(_far(probe, (red, green, blue), TOLERANCE) for probe in probes) else (red, green, blue)


def _far(pixel: tuple[int, ...], colour: tuple[int, ...], tolerance: int) -> bool:
    return any(abs(a - b) > tolerance for a, b in zip(pixel, colour, strict=True))


def _profile(is_fill: npt.NDArray[np.bool_]) -> Profile:
    """The profile of the picture seen from the top of ``is_fill`` (True: a pixel of the fill)."""
    limit = is_fill.shape[0] // 2
    content = ~is_fill[:limit]
    depth = np.where(content.any(axis=0), content.argmax(axis=0), limit)
    columns = np.flatnonzero((depth > 0) & (depth < limit))
    return (columns + 0.5).astype(np.float64), depth[columns].astype(np.float64)


def _edges(sides: Sequence[Profile], size: tuple[int, int]) -> list[Line] | None:
    """The four edges of the turned picture, each seen from one side of the canvas (the top, right,
    bottom and left side, each turned to the top): one slope for all (in every view of a turned
    rectangle, the edge facing the top is turned by the same angle), one intercept each. None unless
    the four profiles are straight lines along enough of each side, turned by at least MIN_DEGREES."""
    slope = _common_slope(sides)
    if slope is None or abs(math.degrees(math.atan(slope))) < MIN_DEGREES:
        return None
    offsets = []
    for x, depth in sides:
        offset = _offset(x, depth, slope)
        if offset is None:
            return None
        offsets.append(offset)
    for _ in range(FITS):
        slope, offsets = _joint_fit(sides, slope, offsets)
    lines = []
    for turns, ((x, depth), intercept) in enumerate(zip(sides, offsets, strict=True)):
        near = np.abs(depth - slope * x - intercept) <= INLIER_DISTANCE
        if near.sum() < MIN_SHARE * size[turns % 2]:
            return None
        if np.sqrt(np.mean((depth[near] - slope * x[near] - intercept) ** 2)) > MAX_RESIDUAL:
            return None
        start, end = (0.0, intercept), (float(size[turns % 2]), intercept + slope * size[turns % 2])
        lines.append((_unturn(start, turns, size), _unturn(end, turns, size)))
    return lines


def _common_slope(sides: Sequence[Profile]) -> float | None:
    """The median slope of the four sides' profiles between columns an eighth of a side apart: the
    slope of a turned picture's edge as each side sees it (the same on every side), steep runs (the
    neighbouring edge) and content of the fill's colour left out by the median."""
    slopes = []
    for x, depth in sides:
        gap = max(MIN_SAMPLES, round(len(x) / 8))
        if len(x) > gap:
            slopes.append((depth[gap:] - depth[:-gap]) / (x[gap:] - x[:-gap]))
    found = np.concatenate(slopes) if slopes else np.empty(0)
    found = found[np.abs(found) <= 1]
    return float(np.median(found)) if len(found) >= MIN_SAMPLES else None


def _offset(x: npt.NDArray[np.float64], depth: npt.NDArray[np.float64], slope: float) -> float | None:
    """Where a line of ``slope`` through the side's lowest dense run of points crosses x = 0: points
    off the edge (content of the fill's colour, the neighbouring edge) all lie deeper."""
    if len(x) < MIN_SAMPLES:
        return None
    offsets = depth - slope * x
    low = float(np.percentile(offsets, 10))
    return float(np.median(offsets[offsets <= low + 2 * INLIER_DISTANCE]))


def _joint_fit(sides: Sequence[Profile], slope: float, offsets: list[float]) -> tuple[float, list[float]]:
    """The slope and intercepts fitted by least squares to every side's points near its line (one slope
    for all, one intercept a side)."""
    across = along = 0.0
    centres = []
    for (x, depth), offset in zip(sides, offsets, strict=True):
        near = np.abs(depth - slope * x - offset) <= INLIER_DISTANCE
        if near.sum() < 2:
            return slope, offsets
        centres.append((float(x[near].mean()), float(depth[near].mean())))
        dx, dy = x[near] - centres[-1][0], depth[near] - centres[-1][1]
        across, along = across + float(dx @ dy), along + float(dx @ dx)
    slope = across / along if along > 0 else slope
    return slope, [mean_depth - slope * mean_x for mean_x, mean_depth in centres]


def _unturn(point: Point, turns: int, size: tuple[int, int]) -> Point:
    """``point`` of the image turned ``turns`` quarter turns counter-clockwise, on the image itself."""
    x, y = point
    for turn in range(turns - 1, -1, -1):
        x, y = size[turn % 2] - y, x
    return x, y


def _meet(first: Line, second: Line) -> Point:
    """Where two lines cross (the edges of neighbouring sides are perpendicular: they always do)."""
    (x1, y1), (x2, y2) = first
    (x3, y3), (x4, y4) = second
    denominator = (x1 - x2) * (y3 - y4) - (y1 - y2) * (x3 - x4)
    a, b = x1 * y2 - y1 * x2, x3 * y4 - y3 * x4
    return ((a * (x3 - x4) - (x1 - x2) * b) / denominator, (a * (y3 - y4) - (y1 - y2) * b) / denominator)


def _length(a: Point, b: Point) -> float:
    return math.hypot(a[0] - b[0], a[1] - b[1])

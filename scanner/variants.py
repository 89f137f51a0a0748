"""The transformed copies a hotline lists beside each picture (``hashmatch hash --variants``): centre
crops and small turns cut to the inside, which move every perceptual hash past its threshold when a copy
is cropped or straightened a little (PDQ by 90-120 bits at a 5 % crop per side). Each is listed as a
variant entry of the same item: a copy cropped or turned by about as much matches it, and the notice
names the item.

A turned copy that still shows the fill in its corners is straightened by the scan itself
(:mod:`scanner.straighten`); one cut to the inside, as an editor's straighten tool leaves it, has lost
what the scan would need, so the list holds those. Tools cut differently: to the largest rectangle inside
the turned picture, or deeper, by the picture's height times the sine of the angle from the left and
right and its width times it from the top and bottom; each of the two cuts of a 3-degree turn recovers
the same cut of 2-4 degree turns and few of the other.

Chosen by measurement on photographs (scikit-image's) and generated pictures, JPEG'd copies decoded as a
scan does (README, "List-side variants"): a 5 % crop of a list picture recovers every 5 % crop (and 3 %
and 7 %), a 10 % crop every 10 % crop (8-12 %); of 768 turns of 2-5 degrees cut both ways (and keeping
the aspect ratio), the picture and its crops recover 136, one turn of 3.5 degrees each way cut to the
inside 459, both cuts of 3 degrees each way 553. Six copies, one hash per type each.
"""

import math
from collections.abc import Callable, Iterator

from PIL import Image

TURN = 3.0
"""Degrees of the listed turns, each way."""
MIN_SIDE = 32
"""A variant is made only if it keeps at least this many pixels and half of each side: a thinner cut
(of a banner, a tall strip, a thumbnail) holds too little of the picture to be worth an entry."""


Variant = Callable[[Image.Image], Image.Image | None]
"""Makes one transformed copy of a picture, or None where it cannot keep enough of it (:data:`MIN_SIDE`)."""


def centre_crop(share: float) -> Variant:
    """A function cutting ``share`` of the width and of the height off each side."""

    def crop(image: Image.Image) -> Image.Image | None:
        dx, dy = round(image.width * share), round(image.height * share)
        return _centre(image, image.width - 2 * dx, image.height - 2 * dy)

    return crop


def turn_inside(degrees: float) -> Variant:
    """A function turning a picture ``degrees`` counter-clockwise and cutting it to the largest upright
    rectangle inside the turned picture (no corner showing)."""

    def turned(image: Image.Image) -> Image.Image | None:
        width, height = _inside(image.width, image.height, math.radians(abs(degrees)))
        return _centre(image, width, height, degrees)

    return turned


def turn_deep(degrees: float) -> Variant:
    """A function turning a picture ``degrees`` counter-clockwise and cutting its height times the
    angle's sine from the left and right, its width times it from the top and bottom."""

    def turned(image: Image.Image) -> Image.Image | None:
        sine = math.sin(math.radians(abs(degrees)))
        width, height = image.width - 2 * image.height * sine, image.height - 2 * image.width * sine
        return _centre(image, width, height, degrees)

    return turned


def _inside(width: int, height: int, angle: float) -> tuple[float, float]:
    """The largest upright rectangle inside a ``width`` x ``height`` one turned by ``angle`` radians."""
    sine, cosine = math.sin(angle), math.cos(angle)
    long, short = max(width, height), min(width, height)
    if short <= 2 * sine * cosine * long or abs(sine - cosine) < 1e-10:  # two corners touch the long sides
        half = short / 2
        return (half / sine, half / cosine) if width >= height else (half / cosine, half / sine)
    square = cosine**2 - sine**2
    return (width * cosine - height * sine) / square, (height * cosine - width * sine) / square


def _centre(image: Image.Image, width: float, height: float, degrees: float = 0.0) -> Image.Image | None:
    """The centred ``width`` x ``height`` cut of ``image`` turned by ``degrees``; None if the cut keeps
    less than half or fewer than :data:`MIN_SIDE` pixels of a side (checked before turning)."""
    left, top = (image.width - width) / 2, (image.height - height) / 2
    box = (math.ceil(left), math.ceil(top), math.floor(left + width), math.floor(top + height))
    for kept, side in ((box[2] - box[0], image.width), (box[3] - box[1], image.height)):
        if kept < max(MIN_SIDE, side / 2):
            return None
    return (image.rotate(degrees, Image.Resampling.BICUBIC) if degrees else image).crop(box)


LIST_VARIANTS: tuple[tuple[str, Variant], ...] = (
    ("crop5", centre_crop(0.05)),
    ("crop10", centre_crop(0.10)),
    ("rot3in", turn_inside(TURN)),
    ("rot-3in", turn_inside(-TURN)),
    ("rot3deep", turn_deep(TURN)),
    ("rot-3deep", turn_deep(-TURN)),
)
"""Each variant's label (the list file's ``variant`` column) and how it is made."""


def list_variants(image: Image.Image) -> Iterator[tuple[str, Image.Image]]:
    """The labelled transformed copies of an RGB ``image`` a list holds beside it: those that keep
    enough of it (:data:`MIN_SIDE`); a banner has no deep turns, a thumbnail no variants at all."""
    for label, make in LIST_VARIANTS:
        if (copy := make(image)) is not None:
            yield label, copy

"""The transformed copies a hotline lists beside each picture (``hashmatch hash --variants``): centre
crops and small rotations, which move every perceptual hash past its threshold when a copy is cropped
or turned a little (PDQ by 90-120 bits at a 5 % crop per side). Each is listed as a variant entry of
the same item: a copy cropped or turned by about as much matches it, and the notice names the item.

Chosen by measurement on photographs (scikit-image's) and generated photos, JPEG'd copies decoded as a
scan does (README, "List-side variants"): a 5 % crop of a list picture recovers every 5 % crop (and 3 %
and 7 %), a 10 % crop every 10 % crop (8-12 %), and a 3-degree turn each way every 2-4 degree turn that
way, where the picture alone recovered none of them by PDQ. Four copies, one hash per type each.
"""

from collections.abc import Callable, Iterator

from PIL import Image

ROTATION_FILL = (0, 0, 0)
"""What a turn leaves in the corners (as an editor turning a picture within its frame does)."""


def centre_crop(share: float) -> Callable[[Image.Image], Image.Image]:
    """A function cutting ``share`` of the width and of the height off each side."""

    def crop(image: Image.Image) -> Image.Image:
        dx, dy = round(image.width * share), round(image.height * share)
        return image.crop((dx, dy, image.width - dx, image.height - dy))

    return crop


def turn(degrees: float) -> Callable[[Image.Image], Image.Image]:
    """A function turning a picture ``degrees`` counter-clockwise within its frame."""

    def rotate(image: Image.Image) -> Image.Image:
        return image.rotate(degrees, resample=Image.Resampling.BICUBIC, fillcolor=ROTATION_FILL)

    return rotate


LIST_VARIANTS: tuple[tuple[str, Callable[[Image.Image], Image.Image]], ...] = (
    ("crop5", centre_crop(0.05)),
    ("crop10", centre_crop(0.10)),
    ("rot3", turn(3)),
    ("rot-3", turn(-3)),
)
"""Each variant's label (the list file's ``variant`` column) and how it is made."""


def list_variants(image: Image.Image) -> Iterator[tuple[str, Image.Image]]:
    """The labelled transformed copies of an RGB ``image`` a list holds beside it."""
    for label, make in LIST_VARIANTS:
        yield label, make(image)

"""Drawing helpers the generated pictures and the UI chrome share: a font, filler words, and a picture
fitted into a box."""

import random
from functools import cache

from PIL import Image, ImageFont

WORDS = (
    "lorem",
    "ipsum",
    "dolor",
    "sit",
    "amet",
    "consectetur",
    "adipiscing",
    "elit",
    "sed",
    "do",
    "eiusmod",
    "tempor",
    "incididunt",
    "ut",
    "labore",
    "et",
    "dolore",
    "magna",
    "aliqua",
    "enim",
    "ad",
    "minim",
    "veniam",
    "quis",
    "nostrud",
    "exercitation",
    "ullamco",
    "laboris",
    "nisi",
    "aliquip",
    "ex",
    "ea",
    "commodo",
    "consequat",
    "duis",
    "aute",
    "irure",
    "in",
    "reprehenderit",
    "voluptate",
    "velit",
    "esse",
    "cillum",
    "fugiat",
    "nulla",
    "pariatur",
)


@cache
def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's own scalable font (no system fonts needed) at ``size`` pixels."""
    return ImageFont.load_default(size=size)


def lorem(rng: random.Random, count: int) -> str:
    """``count`` filler words."""
    return " ".join(rng.choice(WORDS) for _ in range(count))


def fit(image: Image.Image, width: int, height: int) -> Image.Image:
    """``image`` scaled (keeping its aspect) to fit inside ``width`` x ``height``."""
    scale = min(width / image.width, height / image.height)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS)


def colour(rng: random.Random, low: int = 0, high: int = 256) -> tuple[int, int, int]:
    """A random RGB colour with every channel in [low, high)."""
    return (rng.randrange(low, high), rng.randrange(low, high), rng.randrange(low, high))

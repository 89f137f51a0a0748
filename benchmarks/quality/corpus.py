"""The evaluation set: which pictures are listed (known), which never are (unknown), and the related but
distinct pairs whose second member must not match the first.

Real pictures are the sample photographs that ship inside the scikit-image and matplotlib wheels (the
``bench`` extra), read by path from the installed distributions: nothing is downloaded. Generated
pictures (photo-like scenes, textures, flat illustrations, text-heavy pages and slides) come from a seed,
so the set is the same on every machine; without scikit-image or matplotlib the set is generated only.
"""

import random
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from benchmarks.quality.drawing import font, lorem
from tests.fixtures.images import photo

Loader = Callable[[], Image.Image]


@dataclass(frozen=True)
class Picture:
    """One picture of the set: ``name`` is its file name (the list item of a known picture), ``kind`` what
    it is (photo, texture, illustration, text), ``source`` where it comes from."""

    name: str
    kind: str
    source: str
    load: Loader


@dataclass(frozen=True)
class Pair:
    """Related but distinct pictures: ``listed`` goes on the list, ``other`` is scanned and must not match
    it (``relation``: tiles of one photo, shifted crops of one scene, a stereo pair)."""

    relation: str
    listed: Picture
    other: Picture


@dataclass(frozen=True)
class Corpus:
    known: list[Picture]
    unknown: list[Picture]
    pairs: list[Pair]
    fillers: list[Picture]  # unlisted pictures that share collages with the others
    mark: Picture | None  # the logo stamped on copies (scikit-image's), None: a drawn badge


# (file, kind) of the photographs scikit-image ships in skimage/data; the stereo pair and the pictures
# cut into tiles and shifted crops are kept for the related pairs
SKIMAGE_KNOWN = (
    ("astronaut.png", "photo"), ("chelsea.png", "photo"), ("coffee.png", "photo"), ("rocket.jpg", "photo"),
    ("camera.png", "photo"), ("retina.jpg", "photo"), ("brick.png", "texture"), ("text.png", "text"),
)  # fmt: skip
SKIMAGE_UNKNOWN = (
    ("coins.png", "photo"), ("moon.png", "photo"), ("gravel.png", "texture"), ("clock_motion.png", "photo"),
    ("ihc.png", "photo"), ("page.png", "text"),
)  # fmt: skip
MATPLOTLIB_UNKNOWN = (("grace_hopper.jpg", "photo"), ("Minduka_Present_Blue_Pack.png", "photo"))
QUICK_REAL = 3  # real pictures per side in --quick
GENERATED_KINDS = ("photo", "texture", "illustration", "text")


REAL_SOURCES = ("scikit-image", "matplotlib")
"""The distributions whose sample pictures the set takes (the ``bench`` extra)."""


def missing_sources() -> list[str]:
    """The distributions of :data:`REAL_SOURCES` that are not installed."""
    missing = []
    for distribution in REAL_SOURCES:
        try:
            metadata.distribution(distribution)
        except metadata.PackageNotFoundError:
            missing.append(distribution)
    return missing


def packaged(distribution: str, relative: str) -> Path | None:
    """The path of a file shipped in an installed distribution, or None when it is not installed."""
    try:
        located = Path(str(metadata.distribution(distribution).locate_file(relative)))
    except metadata.PackageNotFoundError:
        return None
    return located if located.is_file() else None


def _open(path: Path) -> Loader:
    def load() -> Image.Image:
        with Image.open(path) as image:
            return image.convert("RGB")

    return load


def _real(distribution: str, folder: str, files: tuple[tuple[str, str], ...]) -> list[Picture]:
    found = []
    for file, kind in files:
        path = packaged(distribution, f"{folder}/{file}")
        if path is not None:
            found.append(Picture(Path(file).stem.lower(), kind, f"{distribution}: {file}", _open(path)))
    return found


def texture(seed: int, size: tuple[int, int] = (480, 360)) -> Image.Image:
    """Fine repeated structure with noise (fabric, foliage, stone): few large shapes, many small ones."""
    rng = np.random.default_rng(seed)
    width, height = size
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.zeros((height, width), np.float32)
    for _ in range(4):
        fx, fy, phase = (
            float(rng.uniform(0.02, 0.15)),
            float(rng.uniform(0.02, 0.15)),
            float(rng.uniform(0, 6.3)),
        )
        base += np.sin(fx * x + fy * y + phase)
    base += rng.normal(0, 0.8, (height, width)).astype(np.float32)
    tint = rng.uniform(60, 200, 3)
    rgb = tint + 30 * base[..., None] * rng.uniform(0.5, 1.5, 3)
    image = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB")
    return image.filter(ImageFilter.GaussianBlur(0.8))


def illustration(seed: int, size: tuple[int, int] = (480, 360)) -> Image.Image:
    """Flat colours and hard edges over a two-colour gradient (a poster, a cartoon, a chart)."""
    rng = random.Random(seed)
    width, height = size
    top, bottom = (
        np.array([rng.randrange(256) for _ in range(3)]),
        np.array([rng.randrange(256) for _ in range(3)]),
    )
    ramp = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    image = Image.fromarray((top + (bottom - top) * ramp).astype(np.uint8).repeat(width, axis=1), "RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(9):
        x0, y0 = rng.uniform(-0.1, 0.9) * width, rng.uniform(-0.1, 0.9) * height
        x1, y1 = x0 + rng.uniform(0.08, 0.4) * width, y0 + rng.uniform(0.08, 0.4) * height
        fill = tuple(rng.randrange(256) for _ in range(3))
        shape = rng.choice(("ellipse", "rectangle", "polygon"))
        if shape == "polygon":
            draw.polygon([(x0, y1), ((x0 + x1) / 2, y0), (x1, y1)], fill=fill, outline="black")
        else:
            getattr(draw, shape)((x0, y0, x1, y1), fill=fill, outline="black", width=3)
    return image


def text_page(seed: int, size: tuple[int, int] = (480, 620)) -> Image.Image:
    """A text-heavy picture: a page of paragraphs or a slide with a title and bullets. Such pictures look
    alike to perceptual hashes (light background, dark lines): a hard case for false positives."""
    rng = random.Random(seed)
    slide = rng.random() < 0.5
    width, height = (size[1], size[0]) if slide else size
    light = tuple(rng.randrange(225, 256) for _ in range(3))
    image = Image.new("RGB", (width, height), light)
    draw = ImageDraw.Draw(image)
    ink = tuple(rng.randrange(0, 90) for _ in range(3))
    y = rng.randrange(20, 50)
    if slide:  # a slide: a coloured title band and bullets
        band = tuple(rng.randrange(256) for _ in range(3))
        draw.rectangle((0, 0, width, 70), fill=band)
        draw.text((24, 18), lorem(rng, 4).title(), fill="white", font=font(30))
        y = 100
    size_pt = rng.choice((14, 16, 18))
    while y < height - 40:
        words = rng.randrange(5, 11)
        prefix = "- " if slide else ""
        draw.text((30, y), prefix + lorem(rng, words), fill=ink, font=font(size_pt))
        y += size_pt + rng.choice((6, 8, 20))
    return image


def generated(kind: str, seed: int) -> Picture:
    make: dict[str, Callable[[int], Image.Image]] = {
        "photo": lambda s: photo(s, (480, 360)),
        "texture": texture,
        "illustration": illustration,
        "text": text_page,
    }
    return Picture(f"gen-{kind}-{seed}", kind, f"generated ({kind}, seed {seed})", lambda: make[kind](seed))


def tile(picture: Picture, row: int, column: int) -> Picture:
    def load() -> Image.Image:
        image = picture.load()
        w, h = image.width // 2, image.height // 2
        return image.crop((column * w, row * h, column * w + w, row * h + h))

    return Picture(f"{picture.name}-tile{row}{column}", picture.kind, f"tile of {picture.source}", load)


def _window(picture: Picture, start: float, name: str) -> Picture:
    """A window 60 % of the picture's width from ``start`` (a fraction of it): two windows at 0 and 0.4
    share a fifth of the scene, as two photos taken a step apart."""

    def load() -> Image.Image:
        image = picture.load()
        left = round(start * image.width)
        return image.crop((left, 0, left + round(0.6 * image.width), image.height))

    return Picture(f"{picture.name}-{name}", picture.kind, f"part of {picture.source}", load)


def pairs_of(seed: int, quick: bool) -> list[Pair]:
    """Tiles of one photo, two windows of one scene shifted by 40 %, and the stereo pair scikit-image
    ships (motorcycle, left and right camera)."""
    bases = _real(
        "scikit-image", "skimage/data", (("hubble_deep_field.jpg", "photo"), ("grass.png", "texture"))
    )
    bases += [generated("photo", seed + 900), generated("text", seed + 902)]
    if quick:
        bases = bases[:1] + bases[-1:]
    pairs = []
    for base in bases:
        first = tile(base, 0, 0)
        pairs += [Pair("tiles of one picture", first, tile(base, r, c)) for r, c in ((0, 1), (1, 0), (1, 1))]
        pairs.append(
            Pair("shifted crops of one scene", _window(base, 0.0, "left"), _window(base, 0.4, "right"))
        )
    stereo = _real(
        "scikit-image", "skimage/data", (("motorcycle_left.png", "photo"), ("motorcycle_right.png", "photo"))
    )
    if len(stereo) == 2:
        pairs.append(Pair("stereo pair", stereo[0], stereo[1]))
    return pairs


def corpus(seed: int, quick: bool) -> Corpus:
    """The set: real pictures where the packages are installed, plus generated ones of each kind (one per
    kind and side in --quick, two in a full run), and the related pairs."""
    known = _real("scikit-image", "skimage/data", SKIMAGE_KNOWN)
    unknown = _real("scikit-image", "skimage/data", SKIMAGE_UNKNOWN)
    unknown += _real("matplotlib", "matplotlib/mpl-data/sample_data", MATPLOTLIB_UNKNOWN)
    if quick:
        known, unknown = known[:QUICK_REAL], unknown[:QUICK_REAL]
    per_kind = 1 if quick else 2
    for index, kind in enumerate(GENERATED_KINDS):
        for copy in range(per_kind):
            base = seed + 100 * index + 10 * copy
            known.append(generated(kind, base))
            unknown.append(generated(kind, base + 5))
    fillers = [generated(kind, seed + 700 + n) for n, kind in enumerate(GENERATED_KINDS)]
    marks = _real("scikit-image", "skimage/data", (("logo.png", "logo"),))
    return Corpus(known, unknown, pairs_of(seed, quick), fillers, marks[0] if marks else None)

"""The transforms a listed picture goes through before a hoster's scan meets it: one table, each row a
name, a group, what it does and the file format the copy is saved in (``python -m benchmarks.quality
--transforms`` prints it as markdown)."""

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter, ImageOps

from benchmarks.quality import chrome
from benchmarks.quality.drawing import colour, fit


@dataclass(frozen=True)
class Context:
    """What some transforms need besides the picture: unlisted pictures to share a collage with, and a
    logo to stamp (None: a drawn badge)."""

    fillers: Sequence[Image.Image]
    mark: Image.Image | None = None


Apply = Callable[[Image.Image, random.Random, Context], Image.Image]


@dataclass(frozen=True)
class Transform:
    name: str
    group: str
    description: str
    apply: Apply
    format: str = "JPEG"  # the saved copy's format: JPEG (quality 90 unless ``quality``), PNG or WEBP
    quality: int = 90


def _crop(left: float, top: float, right: float, bottom: float) -> Apply:
    def crop(image: Image.Image, rng: random.Random, context: Context) -> Image.Image:
        w, h = image.size
        return image.crop((round(left * w), round(top * h), w - round(right * w), h - round(bottom * h)))

    return crop


def _rotate(degrees: float, inner: bool = False) -> Apply:
    """Turned by ``degrees`` (either way, as the generator says): the canvas grows and the corners are
    black, or (``inner``) the turned picture is cut to the rectangle inside it, no corner showing."""

    def rotate(image: Image.Image, rng: random.Random, context: Context) -> Image.Image:
        angle = degrees * rng.choice((-1, 1))
        if not inner:
            return image.rotate(angle, Image.Resampling.BICUBIC, expand=True, fillcolor="black")
        turned = image.rotate(angle, Image.Resampling.BICUBIC)
        sine = math.sin(math.radians(degrees))
        dx, dy = math.ceil(image.height * sine), math.ceil(image.width * sine)
        return turned.crop((dx, dy, image.width - dx, image.height - dy))

    return rotate


def _resize(x: float, y: float) -> Apply:
    def resize(image: Image.Image, rng: random.Random, context: Context) -> Image.Image:
        size = (max(16, round(image.width * x)), max(16, round(image.height * y)))
        return image.resize(size, Image.Resampling.LANCZOS)

    return resize


def _same(image: Image.Image, rng: random.Random, context: Context) -> Image.Image:
    return image


def _padded(image: Image.Image, rng: random.Random, context: Context) -> Image.Image:
    border = (round(0.1 * image.width), round(0.1 * image.height))
    return ImageOps.expand(image, border=border, fill=rng.choice(("white", "black", "#7f7f7f")))


def _letterbox(image: Image.Image, rng: random.Random, context: Context) -> Image.Image:
    """Black bars to a 16:9 frame (pillarbox for a picture narrower than that, letterbox for a wider one)."""
    width = max(image.width, round(image.height * 16 / 9))
    height = max(image.height, round(width * 9 / 16))
    canvas = Image.new("RGB", (width, height), "black")
    canvas.paste(image, ((width - image.width) // 2, (height - image.height) // 2))
    return canvas


def _gradient_pad(image: Image.Image, rng: random.Random, context: Context) -> Image.Image:
    """The picture centred on a canvas 40 % larger filled with a two-colour gradient."""
    width, height = round(image.width * 1.4), round(image.height * 1.4)
    top, bottom = np.array(colour(rng)), np.array(colour(rng))
    ramp = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    canvas = Image.fromarray((top + (bottom - top) * ramp).astype(np.uint8).repeat(width, axis=1), "RGB")
    canvas.paste(image, ((width - image.width) // 2, (height - image.height) // 2))
    return canvas


def _blur_pad(image: Image.Image, rng: random.Random, context: Context) -> Image.Image:
    """A 9:16 story: the picture at full width on its own enlarged, blurred and darkened copy."""
    width = 540
    height = 960
    scale = max(width / image.width, height / image.height)
    cover = image.resize((math.ceil(image.width * scale), math.ceil(image.height * scale)))
    left, top = (cover.width - width) // 2, (cover.height - height) // 2
    canvas = cover.crop((left, top, left + width, top + height)).filter(ImageFilter.GaussianBlur(24))
    canvas = ImageEnhance.Brightness(canvas).enhance(0.6)
    picture = fit(image, width, height)
    canvas.paste(picture, (0, (height - picture.height) // 2))
    return canvas


def _collage(count: int) -> Apply:
    """The picture in one cell of a grid of ``count`` (2: side by side, 3: one large and two stacked,
    4: two by two), the other cells unlisted pictures, white gutters."""

    def collage(image: Image.Image, rng: random.Random, context: Context) -> Image.Image:
        others = rng.sample(list(context.fillers), count - 1)
        pictures = [image, *others]
        rng.shuffle(pictures)
        cell, gap = 400, 8
        boxes = {
            2: [(0, 0, 1, 1), (1, 0, 1, 1)],
            3: [(0, 0, 1, 2), (1, 0, 1, 1), (1, 1, 1, 1)],
            4: [(0, 0, 1, 1), (1, 0, 1, 1), (0, 1, 1, 1), (1, 1, 1, 1)],
        }[count]
        rows = 1 if count == 2 else 2
        canvas = Image.new("RGB", (2 * cell + 3 * gap, rows * cell + (rows + 1) * gap), "white")
        for picture, (column, row, width, height) in zip(pictures, boxes, strict=True):
            box_w, box_h = width * cell + (width - 1) * gap, height * cell + (height - 1) * gap
            scale = max(box_w / picture.width, box_h / picture.height)  # fill the cell, cut the rest
            filled = picture.resize((math.ceil(picture.width * scale), math.ceil(picture.height * scale)))
            left, top = (filled.width - box_w) // 2, (filled.height - box_h) // 2
            tile = filled.crop((left, top, left + box_w, top + box_h))
            canvas.paste(tile, (gap + column * (cell + gap), gap + row * (cell + gap)))
        return canvas

    return collage


def _enhance(kind: Callable[[Image.Image], ImageEnhance._Enhance], factor: float) -> Apply:
    def enhance(image: Image.Image, rng: random.Random, context: Context) -> Image.Image:
        return kind(image).enhance(factor)

    return enhance


def _stamp(image: Image.Image, rng: random.Random, context: Context) -> Image.Image:
    return chrome.logo(image, rng, context.mark)


def _screenshot(draw: Callable[[Image.Image, random.Random], Image.Image]) -> Apply:
    def screenshot(image: Image.Image, rng: random.Random, context: Context) -> Image.Image:
        return draw(image, rng)

    return screenshot


def _grayscale(image: Image.Image, rng: random.Random, context: Context) -> Image.Image:
    return ImageOps.grayscale(image).convert("RGB")


def _flat(flip: Callable[[Image.Image], Image.Image]) -> Apply:
    def flipped(image: Image.Image, rng: random.Random, context: Context) -> Image.Image:
        return flip(image)

    return flipped


TRANSFORMS: tuple[Transform, ...] = (
    Transform(
        "exact copy", "re-encode", "the listed file's pixels saved as PNG again (same bytes)", _same, "PNG"
    ),
    Transform("jpeg q95", "re-encode", "JPEG quality 95", _same, quality=95),
    Transform("jpeg q75", "re-encode", "JPEG quality 75", _same, quality=75),
    Transform("jpeg q50", "re-encode", "JPEG quality 50", _same, quality=50),
    Transform("jpeg q30", "re-encode", "JPEG quality 30", _same, quality=30),
    Transform("webp q75", "re-encode", "WebP quality 75", _same, "WEBP", 75),
    Transform("resize 50%", "resize", "half the width and height (Lanczos)", _resize(0.5, 0.5)),
    Transform("resize 25%", "resize", "a quarter of the width and height", _resize(0.25, 0.25)),
    Transform("resize 200%", "resize", "twice the width and height", _resize(2, 2)),
    Transform("squash 100x85%", "resize", "height to 85 %, width kept (aspect changed)", _resize(1, 0.85)),
    Transform(
        "crop 2%", "crop", "2 % of the width/height cut from every side", _crop(0.02, 0.02, 0.02, 0.02)
    ),
    Transform("crop 5%", "crop", "5 % cut from every side", _crop(0.05, 0.05, 0.05, 0.05)),
    Transform("crop 10%", "crop", "10 % cut from every side", _crop(0.1, 0.1, 0.1, 0.1)),
    Transform("crop 15%", "crop", "15 % cut from every side", _crop(0.15, 0.15, 0.15, 0.15)),
    Transform("crop top 10%", "crop", "10 % cut from the top only", _crop(0, 0.1, 0, 0)),
    Transform("crop right 20%", "crop", "20 % cut from the right only", _crop(0, 0, 0.2, 0)),
    Transform("rotate 1°", "rotate", "turned 1° (either way), canvas grown, black corners", _rotate(1)),
    Transform("rotate 3°", "rotate", "turned 3°, black corners", _rotate(3)),
    Transform("rotate 5°", "rotate", "turned 5°, black corners", _rotate(5)),
    Transform("rotate 10°", "rotate", "turned 10°, black corners", _rotate(10)),
    Transform(
        "rotate 3° cut", "rotate", "turned 3° and cut to the inside (no corners)", _rotate(3, inner=True)
    ),
    Transform(
        "rotate 90°", "rotate", "a quarter turn", _flat(lambda i: i.transpose(Image.Transpose.ROTATE_90))
    ),
    Transform(
        "rotate 180°", "rotate", "a half turn", _flat(lambda i: i.transpose(Image.Transpose.ROTATE_180))
    ),
    Transform("mirror", "flip", "left-right mirror", _flat(ImageOps.mirror)),
    Transform("flip", "flip", "upside down (top-bottom flip)", _flat(ImageOps.flip)),
    Transform("pad uniform", "pad", "a uniform border (white, black or gray) of 10 % on every side", _padded),
    Transform("letterbox 16:9", "pad", "black bars to a 16:9 frame", _letterbox),
    Transform("pad gradient", "pad", "centred on a 40 % larger two-colour gradient", _gradient_pad),
    Transform("pad blurred 9:16", "pad", "a 9:16 story: on its own blurred, darkened copy", _blur_pad),
    Transform("logo", "overlay", "a logo a fifth of the width in a corner", _stamp),
    Transform(
        "watermark",
        "overlay",
        "tiled half-transparent text across the picture",
        _screenshot(chrome.watermark),
    ),
    Transform("meme text", "overlay", "big outlined words over the top and bottom", _screenshot(chrome.meme)),
    Transform(
        "caption bar", "overlay", "a band of caption text above the picture", _screenshot(chrome.caption_bar)
    ),
    Transform(
        "browser",
        "screenshot",
        "a desktop browser window: tab, address bar, article, sidebar",
        _screenshot(chrome.browser),
        "PNG",
    ),
    Transform(
        "phone app",
        "screenshot",
        "a phone app: status bar, toolbar, actions, caption, navigation bar",
        _screenshot(chrome.phone),
        "PNG",
    ),
    Transform(
        "chat",
        "screenshot",
        "a messenger: the picture in a bubble between text bubbles",
        _screenshot(chrome.chat),
        "PNG",
    ),
    Transform(
        "social post",
        "screenshot",
        "a social post: author, caption above, reactions below",
        _screenshot(chrome.social),
        "PNG",
    ),
    Transform(
        "image viewer",
        "screenshot",
        "a dark image viewer: toolbar, thumbnails strip",
        _screenshot(chrome.viewer),
        "PNG",
    ),
    Transform("collage 2", "collage", "side by side with an unlisted picture", _collage(2)),
    Transform("collage 3", "collage", "one large and two stacked cells", _collage(3)),
    Transform("collage 4", "collage", "two by two", _collage(4)),
    Transform("grayscale", "colour", "gray levels only", _grayscale),
    Transform("brightness +30%", "colour", "brighter by 30 %", _enhance(ImageEnhance.Brightness, 1.3)),
    Transform("contrast -30%", "colour", "contrast lowered by 30 %", _enhance(ImageEnhance.Contrast, 0.7)),
)


def by_name(names: Sequence[str]) -> list[Transform]:
    """The transforms called ``names``, in the table's order; an unknown name is an error."""
    known = {transform.name: transform for transform in TRANSFORMS}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(f"unknown transform {', '.join(unknown)}: expected some of {', '.join(known)}")
    return [transform for transform in TRANSFORMS if transform.name in names]


def save(image: Image.Image, transform: Transform, path_stem: str) -> str:
    """``image`` saved in the transform's format next to ``path_stem``; the file's path."""
    extension = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp"}[transform.format]
    path = path_stem + extension
    options = {} if transform.format == "PNG" else {"quality": transform.quality}
    image.convert("RGB").save(path, transform.format, **options)
    return path

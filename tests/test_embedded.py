"""The region finder (scanner/embedded.py) on drawn screenshots, letterboxes and collages of generated
photos, saved as JPEG and decoded as a scan decodes them; and what it must leave alone: plain photos,
textures, uniformly framed images (trimmed first, as the scan does)."""

import io
import warnings
from collections.abc import Callable
from itertools import product
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from scanner.borders import trim_borders
from scanner.embedded import find_regions
from scanner.glance import worth_a_look
from scanner.hashfile import HashOptions, hash_file
from scanner.hashing import pdq
from scanner.loading import load_image
from scanner.snapping import snapped
from tests.fixtures.images import letterboxed, photo, save_jpeg, with_border
from tests.fixtures.screens import CHROMES, Box, collage

SEEDS = (31, 32, 33, 34)


def decoded(image: Image.Image, quality: int = 85) -> Image.Image:
    """``image`` as a scan sees it: saved as JPEG, decoded at reduced size (sides >= 256)."""
    stream = io.BytesIO()
    image.save(stream, "JPEG", quality=quality)
    stream.seek(0)
    loaded = load_image(stream, draft_size=256).image
    assert loaded is not None
    return loaded


def overlap(a: Box, b: Box) -> float:
    """Intersection over union of two boxes."""
    width = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def scaled(box: Box, factor: float) -> Box:
    left, top, right, bottom = box
    return (round(left * factor), round(top * factor), round(right * factor), round(bottom * factor))


def distance(a: str, b: str) -> int:
    return bin(int(a, 16) ^ int(b, 16)).count("1")


def nearest(found: list[Box], box: Box) -> Box:
    """Of the boxes found, the one that overlaps ``box`` most."""
    return max(found, key=lambda region: overlap(region, box))


PICTURE_BOXES = 3
"""A picture in chrome gives at most three boxes: the tightest, the widest, the framed one."""


@pytest.mark.parametrize("chrome", sorted(CHROMES))
def test_the_photo_inside_chrome_is_found_and_matches(chrome: str) -> None:
    draw: Callable[[Image.Image, int], tuple[Image.Image, Box]] = CHROMES[chrome]
    for seed in SEEDS:
        original = photo(seed, (480, 360))
        screenshot, box = draw(original, seed)
        image = decoded(screenshot)
        whole = distance(pdq(image).hash, pdq(original).hash)
        found = find_regions(image, 6)
        assert 1 <= len(found) <= PICTURE_BOXES, (chrome, seed, found)
        best = nearest(found, scaled(box, image.width / screenshot.width))
        assert overlap(best, scaled(box, image.width / screenshot.width)) > 0.9
        inside = distance(pdq(image.crop(best)).hash, pdq(original).hash)
        assert inside <= 31 < whole, (chrome, seed, inside, whole)


def headed(picture: Image.Image, gap: int) -> tuple[Image.Image, Box]:
    """A page with a bar, a heading ``gap`` pixels above the picture and text under it."""
    canvas = Image.new("RGB", (1024, 768), (250, 250, 250))
    draw = ImageDraw.Draw(canvas)
    draw.rectangle((0, 0, 1024, 90), fill=(30, 90, 200))
    font = ImageFont.load_default(32)
    top = 170
    heading = "Look at this holiday photo of the beach with all"
    ink = (20, 20, 20)
    draw.text((80, top - gap - 32), heading, fill=ink, font=font, stroke_width=1, stroke_fill=ink)
    box = (80, top, 80 + picture.width, top + picture.height)
    canvas.paste(picture, box[:2])
    for line in range(4):
        draw.text((80, box[3] + 24 + 24 * line), "the of and photo with friends " * 3, fill=(60, 60, 60))
    return canvas, box


@pytest.mark.parametrize("gap", [4, 14])
def test_a_picture_under_a_close_heading_is_found(gap: int) -> None:
    """A bold heading a few pixels above the picture is text on the page's background, not more picture:
    a wide band beside the picture's edge (its lines and the page around them) is a background (before:
    the box took in the heading, 1 and 0 of the 4 found)."""
    for seed in SEEDS:
        screenshot, box = headed(photo(seed, (560, 400)), gap)
        image = decoded(screenshot)
        found = find_regions(image, 6)
        assert 1 <= len(found) <= PICTURE_BOXES, (seed, found)
        assert (
            overlap(
                nearest(found, scaled(box, image.width / screenshot.width)),
                scaled(box, image.width / screenshot.width),
            )
            > 0.9
        ), (seed, found)


def drawing(seed: int, size: tuple[int, int] = (480, 360)) -> Image.Image:
    """A flat drawing: outlined shapes of flat colours on a two-colour gradient (little texture)."""
    rng = np.random.default_rng(seed)
    width, height = size
    ramp = np.linspace(0, 1, height)[:, None, None]
    top, bottom = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    image = Image.fromarray((top + (bottom - top) * ramp).repeat(width, axis=1).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(9):
        x0, y0 = rng.uniform(-0.1, 0.9) * width, rng.uniform(-0.1, 0.9) * height
        x1, y1 = x0 + rng.uniform(0.08, 0.4) * width, y0 + rng.uniform(0.08, 0.4) * height
        fill = tuple(int(v) for v in rng.integers(0, 256, 3))
        draw.ellipse((x0, y0, x1, y1), fill=fill, outline="black", width=3)
    return image


@pytest.mark.parametrize(("chrome", "recovered"), [("browser", 4), ("chat", 4), ("post", 3)])
def test_a_drawing_inside_chrome_is_found(chrome: str, recovered: int) -> None:
    """A drawing's flat colours are not textured as a photo is; its outlines and its edges against the
    chrome make it a picture all the same, found to its edges (before: none, or with the chrome's bubble
    and text, of these 4 drawings per chrome; a phone app's full-width drawing is still missed). A post's
    drawing whose smooth top ends sharply on the card: found since its edge counts (was 2 of 4). Edges
    read in colour, a drawing's flat sky allowed in a framed box: browser and chat 3 -> 4 of 4."""
    found = 0
    for seed in SEEDS:
        screenshot, box = CHROMES[chrome](drawing(seed), seed)
        image = decoded(screenshot)
        regions = find_regions(image, 6)
        assert len(regions) <= PICTURE_BOXES, (chrome, seed, regions)
        found += any(overlap(region, scaled(box, image.width / screenshot.width)) > 0.9 for region in regions)
    assert found == recovered


@pytest.mark.parametrize(
    ("count", "gutter", "recovered"), [(2, 0, 2), (2, 6, 2), (3, 0, 3), (3, 6, 2), (4, 0, 4), (4, 6, 4)]
)
def test_the_parts_of_a_collage_are_found(count: int, gutter: int, recovered: int) -> None:
    """Each part is found and matches its photo; but of three parts with white gutters and a blank
    fourth cell, the top row is taken for a picture on a white page and its two parts only are found."""
    originals = [photo(seed, (400, 300)) for seed in SEEDS[:count]]
    picture, boxes = collage(originals, gutter)
    image = decoded(picture)
    found = find_regions(image, 4)
    factor = image.width / picture.width
    matched = 0
    for original, box in zip(originals, boxes, strict=True):
        best = max(found, key=lambda region: overlap(region, scaled(box, factor)))
        if overlap(best, scaled(box, factor)) > 0.85:
            part = image.crop(best)
            part = trim_borders(part) or part  # the gutter, as the scan trims it
            assert distance(pdq(part).hash, pdq(original).hash) <= 31
            matched += 1
    assert matched == recovered
    assert len(found) <= recovered + PICTURE_BOXES


def test_the_bound_caps_the_regions() -> None:
    picture, _ = collage([photo(seed, (400, 300)) for seed in SEEDS])
    image = decoded(picture)
    assert len(find_regions(image, 4)) == 4
    assert len(find_regions(image, 2)) == 2
    assert find_regions(image, 0) == []


@pytest.mark.parametrize("seed", range(40, 52))
def test_a_plain_photo_has_no_region(seed: int) -> None:
    assert find_regions(decoded(photo(seed, (480, 360))), 4) == []


@pytest.mark.parametrize("quality", [95, 50])
def test_the_glance_lets_chrome_and_collages_through(quality: int) -> None:
    """The cheap gate before the search: every drawn screenshot (as PNG and as a rough JPEG), collage
    with or without gutters and gradient letterbox goes on to the search."""
    for seed in SEEDS:
        original = photo(seed, (480, 360))
        for chrome in CHROMES.values():
            screenshot = chrome(original, seed)[0]
            assert worth_a_look(screenshot), (chrome.__name__, seed)
            assert worth_a_look(decoded(screenshot, quality)), (chrome.__name__, seed, quality)
    for count, gutter in product((2, 3, 4), (0, 6)):
        picture = collage([photo(seed, (400, 300)) for seed in SEEDS[:count]], gutter)[0]
        assert worth_a_look(decoded(picture, quality)), (count, gutter)


def long_screenshot(seed: int, size: tuple[int, int]) -> Image.Image:
    """A scrolled chat captured whole: a bar, then text and pictures in turn down a narrow page."""
    width, height = size
    canvas = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(canvas)
    draw.rectangle((0, 0, width, 40), fill=(7, 94, 84))
    top = 60
    while top < height - 300:
        for line in range(4):
            draw.text((12, top + 18 * line), "look at this photo of the beach", fill="black")
        canvas.paste(photo(seed + top, (width - 24, 180)), (12, top + 90))
        top += 300
    return canvas


@pytest.mark.parametrize(
    ("size", "turn"), [((270, 5000), False), ((270, 5000), True), ((1080, 12000), False)]
)
def test_the_glance_lets_a_long_screenshot_through_without_a_warning(
    size: tuple[int, int], turn: bool
) -> None:
    """A long screenshot reduced for the glance keeps its short side's detail: no empty run test (numpy
    warned "Mean of empty slice" on stderr for 270 x 5000, reduced to 7 x 125), its chrome still seen;
    a strip too thin to hold a run is glanced at without a warning either."""
    screenshot = long_screenshot(43, size)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for quality in (95, 50):
            image = decoded(screenshot, quality)
            assert worth_a_look(image.transpose(Image.Transpose.ROTATE_90) if turn else image), quality
        for strip in ((5, 500), (500, 5), (1, 1)):
            worth_a_look(
                Image.fromarray(np.random.default_rng(7).integers(0, 256, (*strip[::-1], 3), np.uint8))
            )


@pytest.mark.parametrize("seed", range(40, 52))
def test_the_glance_stops_a_plain_photo(seed: int) -> None:
    """A photograph (as JPEG, or as PNG with its noise whole) ends at the glance: no run of equal levels
    as chrome has, no seam."""
    picture = photo(seed, (750, 560))
    assert not worth_a_look(decoded(picture))
    assert not worth_a_look(picture)


def test_noise_and_flat_images_have_no_region() -> None:
    noise = np.random.default_rng(5).integers(0, 256, (300, 400, 3), dtype=np.uint8)
    assert find_regions(decoded(Image.fromarray(noise, "RGB")), 4) == []
    assert find_regions(Image.new("RGB", (400, 300), "gray"), 4) == []
    assert find_regions(Image.new("RGB", (20, 20), "gray"), 4) == []


@pytest.mark.parametrize("frame", [with_border, letterboxed])
def test_a_uniform_frame_is_left_to_the_trim(frame: Callable[[Image.Image], Image.Image]) -> None:
    """The scan looks for pictures inside the trimmed image: a framed photo yields no extra region."""
    image = decoded(frame(photo(41, (480, 360))))
    trimmed = trim_borders(image)
    assert trimmed is not None
    assert find_regions(trimmed, 4) == []


def test_a_scan_hashes_the_picture_inside_a_screenshot(tmp_path: Path) -> None:
    original = photo(35, (480, 360))
    screenshot, _ = CHROMES["phone"](original, 1)
    path = save_jpeg(screenshot, tmp_path / "screen.jpg")
    options = HashOptions(types=("pdq", "phash"), dihedral=True, trim=True, draft_size=256, regions=4)
    found = hash_file(path, options)
    assert 1 <= found.regions <= PICTURE_BOXES
    own = pdq(original).hash
    assert min(distance(item.hash, own) for item in found.hashes if item.type == "pdq") <= 31
    without = hash_file(path, HashOptions(types=("pdq", "phash"), dihedral=True, trim=True, draft_size=256))
    assert without.regions == 0
    extra = len(found.hashes) - len(without.hashes)  # a pdq and a phash of each box, upright; trimmed too
    assert 2 * found.regions <= extra <= 3 * 2 * found.regions
    plain = hash_file(save_jpeg(original, tmp_path / "plain.jpg"), options)
    assert plain.regions == 0


def bubbled(picture: Image.Image, margin: int, bubble: str, wallpaper: str) -> Image.Image:
    """A narrow messenger screen: the picture in a rounded bubble ``margin`` pixels wider on three sides,
    with its time under it, between text bubbles."""
    canvas = Image.new("RGB", (430, 900), wallpaper)
    draw = ImageDraw.Draw(canvas)
    draw.rectangle((0, 0, 430, 90), fill=(7, 94, 84))
    draw.rounded_rectangle((16, 110, 300, 160), radius=12, fill=(32, 44, 51))
    draw.text((28, 126), "nulla voluptate enim aliquip", fill=(230, 230, 230))
    width = 290
    shown = picture.resize((width, round(picture.height * width / picture.width)), Image.Resampling.LANCZOS)
    left, top = 430 - width - 24, 180
    bottom = top + shown.height
    draw.rounded_rectangle((left - margin, top - margin, left + width + margin, bottom + 30), 14, fill=bubble)
    canvas.paste(shown, (left, top))
    draw.text((left + width - 50, bottom + 8), "12:04", fill=(120, 120, 120))
    draw.rounded_rectangle((16, bottom + 60, 280, bottom + 110), radius=12, fill=(32, 44, 51))
    return canvas


@pytest.mark.parametrize(
    ("margin", "bubble", "wallpaper"),
    [(6, "#0084ff", "#0b141a"), (6, "#dcf8c6", "#ece5dd"), (10, "#005c4b", "#0b141a")],
)
def test_a_picture_in_a_bubble_is_hashed_without_the_bubble(
    tmp_path: Path, margin: int, bubble: str, wallpaper: str
) -> None:
    # the bubble's edge and the picture's are a few pixels apart: the box found is the bubble's, whose
    # margins and time (a line of text on its colour) are trimmed before the picture is hashed
    options = HashOptions(types=("pdq", "phash"), dihedral=True, trim=True, draft_size=256, regions=4)
    for seed in SEEDS:
        original = photo(seed, (480, 320))
        path = save_jpeg(bubbled(original, margin, bubble, wallpaper), tmp_path / f"{seed}.jpg", quality=90)
        found = hash_file(path, options)
        assert found.regions >= 1
        own = pdq(original).hash
        assert min(distance(item.hash, own) for item in found.hashes if item.type == "pdq") <= 31, seed


def test_sides_read_a_line_or_two_off_are_moved_to_the_picture_s_edge() -> None:
    """The reduced work image puts a side a line or two off the picture's edge (which moved PDQ by tens
    of bits): each side inside the image moves to the line where the levels step; a side with no
    straight edge near it, and a side on the image's border, stay."""
    canvas = Image.new("RGB", (400, 300), (128, 128, 128))
    canvas.paste(photo(36, (300, 200)), (37, 53))
    assert snapped(canvas, [(35, 55, 339, 251)], 3) == [(37, 53, 337, 253)]
    assert snapped(canvas, [(0, 52, 400, 254)], 3) == [(0, 53, 400, 253)]  # on the border: stays
    assert snapped(canvas, [(10, 53, 337, 253)], 3) == [(10, 53, 337, 253)]  # plain gray around 10

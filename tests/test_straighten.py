"""Straightening: a picture turned on a uniform fill (on a grown canvas or within its own frame, black,
white or coloured fill), saved as JPEG and decoded as the scan decodes, comes back upright within a few
PDQ bits of the original; a photo, a framed photo, a texture, a screenshot or a round picture on black
yield nothing; the scan sends the straightened copy's hashes at the full radius, and nothing more for a
photo."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from matcher import get_hash_type
from scanner.defaults import DRAFT_SIZE
from scanner.hashfile import HashOptions, hash_file
from scanner.hashing import Hash, pdq
from scanner.loading import load_image
from scanner.straighten import straighten
from tests.fixtures.images import photo, save_jpeg, with_border
from tests.fixtures.screens import browser, chat

SIZE = (480, 360)
QUERY_SIDE = HashOptions(types=("pdq", "phash", "dhash"), dihedral=True, trim=True, draft_size=DRAFT_SIZE)
CLOSE = 32
"""Two thirds of PDQ's threshold (the straightened copies of these photos sit 4-28 bits away)."""


def _distance(a: Hash, b: Hash) -> int:
    pdq_type = get_hash_type("pdq")
    return int(pdq_type.distance(pdq_type.parse(a.hash), pdq_type.parse(b.hash)))


def _decoded(image: Image.Image, path: Path) -> Image.Image:
    loaded = load_image(save_jpeg(image, path, quality=85), draft_size=DRAFT_SIZE).image
    assert loaded is not None
    return loaded


@pytest.mark.parametrize("degrees", [1, 3, -3, 5, 10, 30, -30])
@pytest.mark.parametrize("fill", ["black", "white", (40, 90, 160)])
def test_a_picture_turned_on_a_grown_canvas_comes_back_upright(
    tmp_path: Path, degrees: int, fill: str | tuple[int, int, int]
) -> None:
    original = photo(80 + degrees, SIZE)
    turned = _decoded(
        original.rotate(degrees, Image.Resampling.BICUBIC, expand=True, fillcolor=fill), tmp_path / "a.jpg"
    )
    upright = straighten(turned)
    assert upright is not None
    assert upright.width / upright.height == pytest.approx(SIZE[0] / SIZE[1], abs=0.02)
    assert _distance(pdq(upright), pdq(original)) <= CLOSE
    if abs(degrees) >= 3:  # what the scan had before: the turned copy, past the threshold
        assert _distance(pdq(turned), pdq(original)) > 48


@pytest.mark.parametrize("degrees", [3, -5, 10])
@pytest.mark.parametrize("fill", ["black", "white"])
def test_a_picture_turned_within_its_frame_comes_back_closer(tmp_path: Path, degrees: int, fill: str) -> None:
    original = photo(90 + degrees, SIZE)
    turned = _decoded(original.rotate(degrees, Image.Resampling.BICUBIC, fillcolor=fill), tmp_path / "a.jpg")
    upright = straighten(turned)
    assert upright is not None
    assert upright.size == pytest.approx(SIZE, abs=3)
    assert _distance(pdq(upright), pdq(original)) < _distance(pdq(turned), pdq(original)) - 16


def _texture() -> Image.Image:
    noise = np.random.default_rng(5).integers(0, 256, (SIZE[1] // 8, SIZE[0] // 8, 3), dtype=np.uint8)
    return Image.fromarray(noise, "RGB").resize(SIZE, Image.Resampling.NEAREST)


def _round_on_black() -> Image.Image:
    mask = Image.new("L", SIZE, 0)
    ImageDraw.Draw(mask).ellipse((20, 10, SIZE[0] - 20, SIZE[1] - 10), fill=255)
    return Image.composite(photo(7, SIZE), Image.new("RGB", SIZE, "black"), mask)


@pytest.mark.parametrize(
    "make",
    [
        lambda: photo(3, SIZE),
        lambda: with_border(photo(4, SIZE), 0.1, "black"),
        lambda: with_border(photo(5, SIZE), 0.1, "white"),
        _texture,
        lambda: browser(photo(6, (400, 300)))[0],
        lambda: chat(photo(8, (400, 300)))[0],
        _round_on_black,
    ],
    ids=["photo", "black border", "white border", "texture", "browser", "chat", "round on black"],
)
def test_pictures_not_turned_on_a_fill_yield_nothing(tmp_path: Path, make: object) -> None:
    assert callable(make)
    assert straighten(_decoded(make(), tmp_path / "a.jpg")) is None


def test_the_scan_sends_the_straightened_copy_at_the_full_radius(tmp_path: Path) -> None:
    original = photo(11, SIZE)
    plain = hash_file(save_jpeg(original, tmp_path / "plain.jpg"), QUERY_SIDE).hashes
    assert [item.type for item in plain].count("pdq") == 8  # as stored and its 7 turns: nothing added
    turned = original.rotate(5, Image.Resampling.BICUBIC, expand=True, fillcolor="black")
    found = hash_file(save_jpeg(turned, tmp_path / "turned.jpg"), QUERY_SIDE).hashes
    pdqs = [item for item in found if item.type == "pdq"]
    assert len(pdqs) == 9
    assert [item.type for item in found].count("phash") == 3  # as stored, mirrored, straightened
    straightened = pdqs[8]
    assert not straightened.variant
    assert _distance(straightened, pdq(original)) <= CLOSE
    assert min(_distance(item, pdq(original)) for item in pdqs[:8]) > 48
    without = hash_file(tmp_path / "turned.jpg", HashOptions(types=QUERY_SIDE.types, dihedral=True)).hashes
    assert [item.type for item in without].count("pdq") == 8  # --no-trim: neither trimmed nor straightened


@pytest.mark.parametrize("seed", range(12))
def test_any_shape_on_a_fill_gives_none_or_an_upright_picture_of_its_size(tmp_path: Path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    canvas = Image.new("RGB", SIZE, "black")
    corners = [
        (float(rng.uniform(0, SIZE[0])), float(rng.uniform(0, SIZE[1])))
        for _ in range(int(rng.integers(3, 7)))
    ]
    mask = Image.new("L", SIZE, 0)
    ImageDraw.Draw(mask).polygon(corners, fill=255)
    found = straighten(_decoded(Image.composite(photo(seed, SIZE), canvas, mask), tmp_path / "a.jpg"))
    assert found is None or max(found.size) <= 1.5 * max(SIZE)

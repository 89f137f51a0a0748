"""Trimming uniform borders: each side on its own, exactly to the picture; nothing where there is no frame."""

import pytest
from PIL import Image

from scanner.borders import trim_borders
from tests.fixtures.images import photo

SIDES = {"top": (0, 40), "bottom": (0, 0), "left": (40, 0), "right": (0, 0)}


@pytest.mark.parametrize("side", ["top", "bottom", "left", "right"])
def test_a_band_on_one_side_only_is_trimmed_exactly(side: str) -> None:
    """The first lines read are the four outermost: a band on any one of them is found."""
    picture = photo(3, (300, 200))
    vertical = side in ("top", "bottom")
    size = (300, 240) if vertical else (340, 200)
    framed = Image.new("RGB", size, "black")
    framed.paste(picture, SIDES[side])
    trimmed = trim_borders(framed)
    assert trimmed is not None
    assert trimmed.size == picture.size
    assert trimmed.tobytes() == picture.tobytes()


def test_a_picture_without_a_frame_is_left_alone() -> None:
    for seed in range(4):
        assert trim_borders(photo(seed, (400, 300))) is None


def test_an_image_of_one_colour_is_not_a_framed_picture() -> None:
    assert trim_borders(Image.new("RGB", (200, 100), "white")) is None


def test_other_modes_are_trimmed_as_rgb() -> None:
    framed = Image.new("RGB", (300, 240), "white")
    framed.paste(photo(5, (300, 200)), (0, 20))
    trimmed = trim_borders(framed.convert("L"))
    assert trimmed is not None
    assert trimmed.size == (300, 200)
    assert trimmed.mode == "L"

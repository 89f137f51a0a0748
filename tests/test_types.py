"""The hash type registry: names, parsing, validation errors, distances, thresholds."""

import hashlib

import numpy as np
import pytest
from PIL import Image

from matcher import (
    HASH_TYPES,
    InvalidHash,
    InvalidHashes,
    InvalidThreshold,
    UnknownHashType,
    get_hash_type,
)
from scanner.hashing import image_hashes
from tests.fixtures.images import photo

SOLID = [
    (300, 200, (0, 0, 0)),
    (300, 200, (255, 255, 255)),
    (64, 64, (128, 128, 128)),
    (300, 200, (200, 30, 30)),
]


def image_hash(image: Image.Image, name: str) -> str:
    return image_hashes(image, [name])[0].hash


EXPECTED = {
    # name: (bits, default threshold, max threshold)
    "pdq": (256, 48, 63),
    "phash": (64, 8, 12),
    "dhash": (64, 8, 12),
    "ahash": (64, 6, 12),
    "whash": (64, 4, 12),
    "md5": (128, 0, 0),
    "sha1": (160, 0, 0),
    "sha256": (256, 0, 0),
    "photodna": (1152, 0, 3060),  # no default threshold: each list sets its own (see test_photodna.py)
    "vpdq": (256, 31, 63),  # per frame (see test_vpdq.py)
}


def test_registry_holds_the_python_threatexchange_names() -> None:
    assert {
        name: (t.bits, t.default_threshold, t.max_threshold) for name, t in HASH_TYPES.items()
    } == EXPECTED


def test_lookup_ignores_case_and_spaces() -> None:
    assert get_hash_type(" PDQ ") is HASH_TYPES["pdq"]


@pytest.mark.parametrize("name", ["tmk", "", "pdq2", None, 5])
def test_unknown_type_names_the_known_ones(name: object) -> None:
    with pytest.raises(UnknownHashType) as raised:
        get_hash_type(name)
    assert "pdq, phash, dhash, ahash, whash, md5, sha1, sha256, photodna" in str(raised.value)
    assert repr(name) in str(raised.value) or str(name) in str(raised.value)


@pytest.mark.parametrize("name", sorted(set(EXPECTED) - {"vpdq"}))  # frame lines: test_vpdq.py
def test_parse_normalises_case_and_whitespace(name: str) -> None:
    hash_type = HASH_TYPES[name]
    text = "".join("0123456789abcdef"[i % 16] for i in range(hash_type.nbytes * 2))
    code = hash_type.parse(f"  {text.upper()}\n")
    assert len(code) == hash_type.nbytes
    assert hash_type.format(code) == text


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("abc", "expected 16 hexadecimal digits, got 3 characters"),
        ("0123456789abcdef0", "expected 16 hexadecimal digits, got 17 characters"),
        ("0123456789abcdeg", "character 'g' at position 15 is not hexadecimal"),
        ("01234567 9abcdef", "character ' ' at position 8 is not hexadecimal"),
        ("0123456789abcdé0", "character 'é' at position 14 is not hexadecimal"),
        (None, "expected a string of 16 hexadecimal digits, got nothing"),
        (1234, "expected a string of 16 hexadecimal digits, got int"),
    ],
)
def test_malformed_hash_says_which_value_and_why(value: object, reason: str) -> None:
    with pytest.raises(InvalidHash) as raised:
        HASH_TYPES["phash"].parse(value)
    assert raised.value.reason == reason
    assert raised.value.value == value
    assert str(raised.value) == f"invalid phash hash {value!r}: {reason}"


def test_parse_many_reports_every_bad_item_with_its_position() -> None:
    md5 = HASH_TYPES["md5"]
    good = "d41d8cd98f00b204e9800998ecf8427e"
    with pytest.raises(InvalidHashes) as raised:
        md5.parse_many([good, "xyz", good, good[:-1] + "Z", good])
    errors = raised.value.errors
    assert [(e.index, e.value) for e in errors] == [(1, "xyz"), (3, good[:-1] + "Z")]
    assert (
        str(errors[0]) == "item 1: invalid md5 hash 'xyz': expected 32 hexadecimal digits, got 3 characters"
    )
    assert "(and 1 more)" in str(raised.value)


def test_parse_many_returns_one_row_per_value() -> None:
    pdq = HASH_TYPES["pdq"]
    values = ["f" * 64, "0" * 64, "0f" * 32]
    codes = pdq.parse_many(values)
    assert codes.dtype == np.uint8
    assert codes.shape == (3, 32)
    assert [pdq.format(row) for row in codes] == values
    assert pdq.parse_many([]).shape == (0, 32)


def test_distance_counts_differing_bits() -> None:
    pdq = HASH_TYPES["pdq"]
    assert pdq.distance(pdq.parse("f" * 64), pdq.parse("0" * 64)) == 256
    assert pdq.distance(pdq.parse("f" * 64), pdq.parse("7" + "f" * 63)) == 1
    with pytest.raises(ValueError, match="differ in length"):
        pdq.distance(b"\x00", b"\x00\x00")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_thresholds_accepted_up_to_the_type_maximum(name: str) -> None:
    hash_type = HASH_TYPES[name]
    assert hash_type.check_threshold(hash_type.max_threshold) == hash_type.max_threshold
    assert hash_type.check_threshold(np.int64(0)) == 0
    for bad in (hash_type.max_threshold + 1, -1, 1.5, "3", True):
        with pytest.raises(
            InvalidThreshold, match=f"expected an integer from 0 to {hash_type.max_threshold}"
        ):
            hash_type.check_threshold(bad)


PERCEPTUAL = ("pdq", "phash", "dhash", "ahash", "whash")


@pytest.mark.parametrize(
    ("name", "digest"),
    [
        ("md5", hashlib.md5(b"").hexdigest()),
        ("sha1", hashlib.sha1(b"").hexdigest()),
        ("sha256", hashlib.sha256(b"").hexdigest()),
    ],
)
def test_the_digest_of_the_empty_file_is_trivial(name: str, digest: str) -> None:
    hash_type = HASH_TYPES[name]
    other = hashlib.new(name, b"x").hexdigest()
    codes = hash_type.parse_many([other, digest.upper(), other])
    assert hash_type.trivial(codes) == [(1, f"{name} of an empty file")]
    assert hash_type.why_trivial(hash_type.parse(digest)) == f"{name} of an empty file"
    assert hash_type.why_trivial(hash_type.parse(other)) is None
    assert (
        hash_type.trivial(hash_type.parse_many(["0" * hash_type.nbytes * 2])) == []
    )  # no rule but the empty file


@pytest.mark.parametrize("name", PERCEPTUAL)
def test_constant_and_near_constant_perceptual_hashes_are_trivial(name: str) -> None:
    hash_type = HASH_TYPES[name]
    digits, limit = hash_type.nbytes * 2, hash_type.max_threshold
    spread = np.random.default_rng(3).permutation(hash_type.bits)  # set bits scattered, not in rows
    bits = np.zeros(hash_type.bits, np.uint8)
    bits[spread[:limit]] = 1  # the largest threshold a list may use away from all-zero
    edge = np.packbits(bits)
    bits[spread[limit]] = 1
    beyond = np.packbits(bits)
    values = [
        "0" * digits,
        "f" * digits,
        edge.tobytes().hex(),
        (~edge).tobytes().hex(),
        beyond.tobytes().hex(),
    ]
    found = dict(hash_type.trivial(hash_type.parse_many(values)))
    assert found[0] == f"all-zero {name} (a blank image)"
    assert found[1] == f"all-one {name} (a blank image)"
    assert found[2] == f"near-constant {name}: {limit} of {hash_type.bits} bits set (a blank image)"
    assert (
        found[3]
        == f"near-constant {name}: {hash_type.bits - limit} of {hash_type.bits} bits set (a blank image)"
    )
    assert 4 not in found
    random = np.random.default_rng(7).integers(0, 256, (2000, hash_type.nbytes), dtype=np.uint8)
    assert hash_type.trivial(random) == []


def test_the_hashes_of_solid_images_are_trivial_and_those_of_photos_are_not() -> None:
    """PDQ of a solid image is DCT rounding noise, not zero: its 16 rows of 16 bits repeat (2-9 distinct
    in 200 random colours and sizes measured; 15-16 in real images and in random codes)."""
    solid = [Image.new("RGB", (w, h), color) for w, h, color in SOLID]
    photos = [photo(seed) for seed in range(12)]
    for name in PERCEPTUAL:
        hash_type = HASH_TYPES[name]
        blank = hash_type.parse_many([image_hash(image, name) for image in solid])
        real = hash_type.parse_many([image_hash(image, name) for image in photos])
        assert [row for row, _ in hash_type.trivial(blank)] == list(range(len(solid))), name
        assert hash_type.trivial(real) == [], name
    pdq = HASH_TYPES["pdq"]
    reason = pdq.why_trivial(pdq.parse(image_hash(Image.new("RGB", (300, 200), (200, 30, 30)), "pdq")))
    assert reason is not None
    assert reason.startswith("pdq of a textureless image: ")

"""The hash type registry: names, parsing, validation errors, distances, thresholds."""

import numpy as np
import pytest

from matcher import (
    HASH_TYPES,
    InvalidHash,
    InvalidHashes,
    InvalidThreshold,
    UnknownHashType,
    get_hash_type,
)

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
}


def test_registry_holds_the_python_threatexchange_names() -> None:
    assert {
        name: (t.bits, t.default_threshold, t.max_threshold) for name, t in HASH_TYPES.items()
    } == EXPECTED


def test_lookup_ignores_case_and_spaces() -> None:
    assert get_hash_type(" PDQ ") is HASH_TYPES["pdq"]


@pytest.mark.parametrize("name", ["photodna", "", "pdq2", None, 5])
def test_unknown_type_names_the_known_ones(name: object) -> None:
    with pytest.raises(UnknownHashType) as raised:
        get_hash_type(name)
    assert "pdq, phash, dhash, ahash, whash, md5, sha1, sha256" in str(raised.value)
    assert repr(name) in str(raised.value) or str(name) in str(raised.value)


@pytest.mark.parametrize("name", sorted(EXPECTED))
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

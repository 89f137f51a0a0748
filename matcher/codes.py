"""Hex text <-> binary codes, in bulk and without a Python object per code.

A code is a row of ``nbytes`` unsigned bytes; a batch is a C-contiguous ``(n, nbytes)`` uint8 array.
"""

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

Codes = npt.NDArray[np.uint8]

_HEX_DIGITS = "0123456789abcdef"
_NIBBLE = np.full(256, 0xFF, dtype=np.uint8)
for _value, _char in enumerate(_HEX_DIGITS):
    _NIBBLE[ord(_char)] = _value
    _NIBBLE[ord(_char.upper())] = _value


def parse_hex_batch(values: Sequence[object], nbytes: int) -> tuple[Codes, list[tuple[int, str]]]:
    """Parse hex strings of ``2 * nbytes`` digits (surrounding whitespace ignored, any case).

    Returns the codes (one row per value; rows of bad values are zero) and, in input order, the
    ``(index, reason)`` of every bad value.
    """
    width = 2 * nbytes
    codes = np.zeros((len(values), nbytes), dtype=np.uint8)
    texts = [value.strip() if isinstance(value, str) else None for value in values]
    lengths = np.fromiter((-1 if text is None else len(text) for text in texts), np.int64, len(texts))
    sized = lengths == width
    errors: list[tuple[int, str]] = [
        (
            int(row),
            f"expected a string of {width} hexadecimal digits, got {_kind(values[int(row)])}"
            if lengths[row] < 0
            else f"expected {width} hexadecimal digits, got {lengths[row]} characters",
        )
        for row in np.flatnonzero(~sized)
    ]
    good_rows = np.flatnonzero(sized)
    good_text = [text for text in texts if text is not None and len(text) == width]
    if good_rows.size:
        raw = np.frombuffer("".join(good_text).encode("ascii", errors="replace"), dtype=np.uint8)
        decoded, bad = decode_hex(raw.reshape(len(good_text), width))
        for position in np.flatnonzero(bad):
            text = good_text[position]
            column = int(np.argmax(_NIBBLE[raw[position * width : (position + 1) * width]] == 0xFF))
            errors.append(
                (
                    int(good_rows[position]),
                    f"character {text[column]!r} at position {column} is not hexadecimal",
                )
            )
        codes[good_rows[~bad]] = decoded[~bad]
        errors.sort()
    return codes, errors


def decode_hex(digits: npt.NDArray[np.uint8]) -> tuple[Codes, npt.NDArray[np.bool_]]:
    """Rows of ASCII hex digits (an ``(n, 2 * nbytes)`` byte array) as codes, and which rows hold a
    character that is not a hex digit (their codes are meaningless)."""
    nibbles = _NIBBLE[digits]
    bad: npt.NDArray[np.bool_] = (nibbles == 0xFF).any(axis=1)
    codes: Codes = ((nibbles[:, 0::2] << 4) | nibbles[:, 1::2]).astype(np.uint8)
    return codes, bad


def format_hex(code: Codes | bytes) -> str:
    """Lowercase hex text of one code."""
    return bytes(code).hex()


def hamming_distance(a: Codes | bytes, b: Codes | bytes) -> int:
    """Number of differing bits between two codes of the same length."""
    left = np.frombuffer(bytes(a), dtype=np.uint8)
    right = np.frombuffer(bytes(b), dtype=np.uint8)
    if left.shape != right.shape:
        raise ValueError(f"codes differ in length: {left.size} and {right.size} bytes")
    return int(np.unpackbits(left ^ right).sum())


def _kind(value: object) -> str:
    return "nothing" if value is None else type(value).__name__


_BASE64_DIGITS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_SEXTET = np.full(256, 0xFF, dtype=np.uint8)
for _value, _char in enumerate(_BASE64_DIGITS + "+/"):
    _SEXTET[ord(_char)] = _value
_SEXTET[ord("-")], _SEXTET[ord("_")] = 62, 63  # the URL-safe alphabet (RFC 4648 section 5)


def parse_hex_or_base64_batch(values: Sequence[object], nbytes: int) -> tuple[Codes, list[tuple[int, str]]]:
    """Like :func:`parse_hex_batch`, but a value may also be base64 of the ``nbytes`` bytes, without
    padding, in the standard or the URL-safe alphabet (``nbytes`` must be a multiple of 3, so that no
    padding arises and the two forms differ in length: ``2 * nbytes`` hex digits, ``4 * nbytes / 3``
    base64 characters)."""
    if nbytes % 3:
        raise ValueError(f"base64 of {nbytes} bytes needs padding: not supported")
    width = 4 * nbytes // 3
    texts = [value.strip() if isinstance(value, str) else None for value in values]
    rows = [row for row, text in enumerate(texts) if text is not None and len(text) == width]
    hex_rows = np.setdiff1d(np.arange(len(values)), rows)
    codes, hex_errors = parse_hex_batch([values[row] for row in hex_rows], nbytes)
    errors = [
        (
            int(hex_rows[position]),
            why.replace("hexadecimal digits", f"hexadecimal digits or {width} base64 characters", 1)
            if why.startswith("expected ")
            else why,
        )
        for position, why in hex_errors
    ]
    found = np.zeros((len(values), nbytes), dtype=np.uint8)
    found[hex_rows] = codes
    if not rows:
        return found, errors
    raw = np.frombuffer("".join(texts[row] or "" for row in rows).encode("ascii", "replace"), np.uint8)
    sextets = _SEXTET[raw.reshape(len(rows), width)]
    bad = (sextets == 0xFF).any(axis=1)
    quads = sextets.reshape(len(rows), nbytes // 3, 4).astype(np.uint32)
    packed = (quads[..., 0] << 18) | (quads[..., 1] << 12) | (quads[..., 2] << 6) | quads[..., 3]
    decoded = np.stack([packed >> 16, packed >> 8, packed], axis=-1).astype(np.uint8)
    for position, row in enumerate(rows):
        if bad[position]:
            text = texts[row] or ""
            column = int(np.argmax(sextets[position] == 0xFF))
            errors.append((row, f"character {text[column]!r} at position {column} is not base64"))
        else:
            found[row] = decoded[position].reshape(nbytes)
    errors.sort()
    return found, errors

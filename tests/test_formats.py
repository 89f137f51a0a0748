"""Reading list files: the three formats agree, every bad line is reported with its number, value and
reason, extra columns are named, and the reader keeps arrays, not text."""

import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pytest

from indexer.errors import FileFormatError
from indexer.formats import CHUNK_ROWS, detect_format, read_list
from indexer.listfile import Meta
from tests.listdata import codes, csv_rows, parse, plain

PDQ = hashlib.sha256(b"a photo").hexdigest()  # a PDQ value with no trivial pattern
MD5 = "0123456789abcdef" * 2


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("list.csv", "csv"),
        ("a.CSV", "csv"),
        ("x.ndjson", "ndjson"),
        ("x.jsonl", "ndjson"),
        ("x.txt", "plain"),
        ("-", "plain"),
    ],
)
def test_the_format_follows_the_extension(name: str, expected: str) -> None:
    assert detect_format(name) == expected


def test_the_three_formats_read_the_same_hashes() -> None:
    pdq, md5 = codes(5, 1), codes(3, 2, 16)
    text = plain("pdq", pdq) + "# a comment\n\n" + plain("MD5", md5)
    csv = csv_rows(*(f"pdq,{bytes(r).hex()},,,," for r in pdq), *(f"md5,{bytes(r).hex()},,,," for r in md5))
    ndjson = "".join(json.dumps({"type": "pdq", "hash": bytes(r).hex()}) + "\n" for r in pdq) + "".join(
        json.dumps({"type": "md5", "hash": bytes(r).hex()}) + "\n" for r in md5
    )
    for content, file_format in ((text, "plain"), (csv, "csv"), (ndjson, "ndjson")):
        found = parse(content, file_format)
        assert found.bad_lines == 0
        assert sorted(found.by_type) == ["md5", "pdq"]
        assert np.array_equal(found.by_type["pdq"].codes, pdq)
        assert np.array_equal(found.by_type["md5"].codes, md5)
        assert found.valid_rows == 8
        assert found.metas == [Meta(None, None, None)]
    assert parse(text).by_type["md5"].lines.tolist() == [8, 9, 10]


def test_optional_columns_are_kept_per_row_and_unknown_ones_named() -> None:
    content = csv_rows(
        f"pdq,{PDQ},case-1,A,80,add,x",
        f"pdq,{PDQ.upper()},case-1,B,30,,y",
        f"md5,{MD5},,,,,",
        header="type,hash,item,category,quality,action,note",
    )
    found = read_list(io.StringIO(content), "csv", allow_low_quality=True)
    assert found.bad_lines == 0
    pdq = found.by_type["pdq"]
    assert [found.metas[m] for m in pdq.meta] == [Meta("case-1", "A", 80), Meta("case-1", "B", 30)]
    assert found.metas[found.by_type["md5"].meta[0]] == Meta(None, None, None)
    assert found.ignored_columns == ["note"]
    assert found.low_quality == 1
    ndjson = parse(
        json.dumps({"type": "pdq", "hash": PDQ, "quality": 99, "source": "x", "seen": 3}) + "\n", "ndjson"
    )
    assert ndjson.ignored_columns == ["source", "seen"]
    assert ndjson.metas == [Meta(None, None, 99)]


def test_every_bad_line_is_reported_with_number_value_and_reason() -> None:
    found = parse(
        csv_rows(
            f"pdq,{PDQ},,,,",
            "pdq,abc,,,,",
            f"tmk,{PDQ},,,,",
            f"md5,{MD5},,,101,",
            f"md5,{MD5},,{'c' * 65},,",
            f"md5,{MD5},,,,drop",
            f"pdq,{PDQ[:-1]}g,,,,",
            "pdq",
        ),
        "csv",
    )
    assert found.bad_lines == 7
    assert found.valid_rows == 1
    values = {e.line: e.text for e in found.errors}
    assert (values[3], values[4], values[5], values[7]) == ("abc", "tmk", "101", "drop")
    assert values[6] == "c" * 65
    reasons = {e.line: e.reason for e in found.errors}
    assert reasons[3] == "invalid pdq hash: expected 64 hexadecimal digits, got 3 characters"
    assert reasons[4].startswith("unknown hash type 'tmk'")
    assert reasons[5] == "quality must be a whole number from 0 to 100"
    assert reasons[6] == "category must be text of at most 64 characters"
    assert reasons[7] == "action must be one of add, retract"
    assert reasons[8] == "invalid pdq hash: character 'g' at position 63 is not hexadecimal"
    assert reasons[9] == "invalid pdq hash: expected a string of 64 hexadecimal digits, got nothing"
    assert [e.line for e in found.errors] == [3, 4, 5, 6, 7, 8, 9]


def test_plain_and_ndjson_line_errors() -> None:
    found = parse(f"pdq {PDQ}\npdq\npdq {PDQ} extra\nsha1 {MD5}\n")
    assert [(e.line, e.reason.split(":")[0]) for e in found.errors] == [
        (2, "expected '<type> <hash>'"),
        (3, "expected '<type> <hash>'"),
        (4, "invalid sha1 hash"),
    ]
    found = parse(
        '{"type": "pdq", "hash": "' + PDQ + '"}\n[1]\n{"hash": "x"}\nnot json\n{"type": "pdq", "hash": 5}\n',
        "ndjson",
    )
    assert [e.line for e in found.errors] == [2, 3, 4, 5]
    assert found.errors[0].reason == "expected a JSON object"
    assert found.errors[1].reason == "expected a 'type' key with a text value"
    assert found.errors[2].reason.startswith("not valid JSON")
    assert found.errors[3].reason == "invalid pdq hash: expected a string of 64 hexadecimal digits, got int"


def test_errors_are_counted_beyond_the_cap_and_chunks_do_not_shift_line_numbers() -> None:
    rows = plain("pdq", codes(CHUNK_ROWS + 10, 3)).splitlines()
    for line in (5, CHUNK_ROWS + 3, CHUNK_ROWS + 7):
        rows[line - 1] = "pdq xyz"
    found = read_list(io.StringIO("\n".join(rows) + "\n"), "plain", error_cap=2)
    assert found.bad_lines == 3
    assert [e.line for e in found.errors] == [5, CHUNK_ROWS + 3]
    assert found.valid_rows == CHUNK_ROWS + 7
    assert CHUNK_ROWS + 7 not in found.by_type["pdq"].lines


def test_retract_rows_need_a_delta_import() -> None:
    content = csv_rows(f"pdq,{PDQ},,,,retract", f"pdq,{PDQ},,,,add")
    assert parse(content, "csv").errors[0].reason == "action 'retract' is only allowed in a delta import"
    found = parse(content, "csv", allow_retract=True)
    assert found.bad_lines == 0
    assert found.by_type["pdq"].retract.tolist() == [True, False]


def test_quoted_csv_fields_and_header_problems() -> None:
    found = parse(
        csv_rows(f'pdq,{PDQ},"case, one",A,,', header="type,hash,item,category,quality,action"), "csv"
    )
    assert found.metas == [Meta("case, one", "A", None)]
    with pytest.raises(FileFormatError, match="must name the columns type and hash"):
        parse("kind,value\npdq,x\n", "csv")
    with pytest.raises(FileFormatError, match="empty"):
        parse("", "csv")
    with pytest.raises(FileFormatError, match="unknown format"):
        parse("", "xml")


def test_progress_counts_every_character(tmp_path: Path) -> None:
    content = plain("pdq", codes(100, 4))
    seen: list[int] = []
    read_list(io.StringIO(content), "plain", progress=seen.append)
    assert sum(seen) == len(content)


@pytest.mark.parametrize(
    ("file_format", "separator", "header"), [("plain", " ", ""), ("csv", ",", "type,hash\n")]
)
def test_blocks_of_one_layout_read_like_any_other(file_format: str, separator: str, header: str) -> None:
    """Uniform blocks are decoded at once; the result is the same as line by line."""
    values = codes(CHUNK_ROWS + 100, 11)
    lines = [f"pdq{separator}{bytes(row).hex()}\n" for row in values]
    lines[3] = lines[3].upper().replace("PDQ", "pdq")  # upper-case digits: same layout
    uniform = read_list(io.StringIO(header + "".join(lines)), file_format)
    lines[CHUNK_ROWS + 50] = lines[CHUNK_ROWS + 50].replace(
        "pdq", "PDQ"
    )  # breaks the layout of the last block
    mixed = read_list(io.StringIO(header + "".join(lines)), file_format)
    for found in (uniform, mixed):
        assert found.bad_lines == 0
        assert np.array_equal(found.by_type["pdq"].codes, values)
        assert found.by_type["pdq"].lines.tolist() == list(
            range(1 + len(header) // 10, CHUNK_ROWS + 101 + len(header) // 10)
        )
        assert found.metas == [Meta(None, None, None)]
    lines[7] = lines[7][:-4] + "xyz\n"
    broken = read_list(io.StringIO(header + "".join(lines)), file_format)
    assert [(e.line, e.reason) for e in broken.errors] == [
        (8 + len(header) // 10, "invalid pdq hash: character 'x' at position 61 is not hexadecimal")
    ]


EMPTY_MD5 = "d41d8cd98f00b204e9800998ecf8427e"


@pytest.mark.parametrize("lines", [1, 3, CHUNK_ROWS + 2])
@pytest.mark.parametrize("ending", ["\n", "\r\n", "none"])
@pytest.mark.parametrize("extra", ["0", "x", "\t"])
def test_a_hash_with_one_character_too_many_is_refused_on_every_path(
    lines: int, ending: str, extra: str
) -> None:
    """A uniform block (the fast path) included: a trailing character is never cut off."""
    newline = "\n" if ending == "none" else ending
    for separator, file_format, header in ((" ", "plain", ""), (",", "csv", "type,hash\n")):
        rows = [f"pdq{separator}{bytes(r).hex()}{extra}" for r in codes(lines, 21)]
        content = header + newline.join(rows) + ("" if ending == "none" else newline)
        found = read_list(io.StringIO(content, newline=""), file_format)
        if extra == "\t":  # surrounding whitespace is no part of the value
            assert found.bad_lines == 0
            continue
        first = 1 + header.count("\n")
        assert found.bad_lines == lines
        assert found.valid_rows == 0
        reason = "invalid pdq hash: expected 64 hexadecimal digits, got 65 characters"
        assert (found.errors[0].line, found.errors[0].reason) == (first, reason)


def test_invalid_utf8_and_nul_bytes_are_refused_with_their_line() -> None:
    lines = [
        f"pdq {PDQ}\n".encode(),
        b"pdq \xff" + PDQ[1:].encode() + b"\n",
        f"pdq {PDQ}\x00\n".encode(),
        f"md5 {MD5}\n".encode(),
    ]
    found = read_list(lines, "plain")
    assert [(e.line, e.reason) for e in found.errors] == [
        (2, "not valid UTF-8: byte 0xff at column 5"),
        (3, "contains a NUL character at column 69"),
    ]
    assert found.valid_rows == 2
    csv = [b"type,hash,item\n", f"md5,{MD5},caf\xe9\n".encode("latin-1"), f"md5,{MD5},caf\u00e9\n".encode()]
    found = read_list(csv, "csv")
    assert [(e.line, e.reason) for e in found.errors] == [(2, "not valid UTF-8: byte 0xe9 at column 41")]
    assert found.metas == [Meta("caf\u00e9", None, None)]
    with pytest.raises(FileFormatError, match="line 1: not valid UTF-8"):
        read_list([b"type,\xffhash\n"], "csv")
    ndjson = json.dumps({"type": "md5", "hash": MD5, "item": "a\u0000b"}) + "\n"
    assert parse(ndjson, "ndjson").errors[0].reason == "item must not contain NUL characters"


def test_item_and_category_lengths_are_bounded() -> None:
    found = parse(
        csv_rows(f"md5,{MD5},{'i' * 256},,,", f"md5,{MD5},{'i' * 257},,,", f"md5,{MD5},,{'c' * 65},,"), "csv"
    )
    assert [(e.line, e.reason) for e in found.errors] == [
        (3, "item must be text of at most 256 characters"),
        (4, "category must be text of at most 64 characters"),
    ]
    assert found.errors[0].text.endswith("...")  # the value shown is shortened
    five_mb = json.dumps({"type": "md5", "hash": MD5, "item": "x" * 5_000_000}) + "\n"
    assert parse(five_mb, "ndjson").errors[0].reason == "item must be text of at most 256 characters"


@pytest.mark.parametrize(
    ("file_format", "content"),
    [
        ("csv", f"type,hash\nmd5,{MD5}\n"),
        ("ndjson", json.dumps({"type": "md5", "hash": MD5}) + "\n"),
        ("plain", f"md5 {MD5}\n"),
    ],
)
def test_a_utf8_byte_order_mark_is_accepted(file_format: str, content: str) -> None:
    for lines in (io.StringIO("\ufeff" + content), io.BytesIO(b"\xef\xbb\xbf" + content.encode())):
        found = read_list(lines, file_format)
        assert (found.bad_lines, found.valid_rows) == (0, 1)


def test_trivial_values_are_refused_per_line_with_the_reason() -> None:
    content = f"md5 {MD5}\nmd5 {EMPTY_MD5}\npdq {'0' * 64}\nphash 8000000000000000\n" + "".join(
        f"pdq {bytes(r).hex()}\n" for r in codes(3, 5)
    )
    found = parse(content)
    assert [(e.line, e.reason) for e in found.errors] == [
        (2, "md5 of an empty file: it would match every such file"),
        (3, "all-zero pdq (a blank image): it would match every such image"),
        (4, "near-constant phash: 1 of 64 bits set (a blank image): it would match every such image"),
    ]
    assert found.valid_rows == 4
    uniform = "".join(f"md5 {EMPTY_MD5}\n" for _ in range(5))  # one layout: the fast path
    assert parse(uniform).bad_lines == 5
    retraction = csv_rows(f"md5,{EMPTY_MD5},,,,retract")  # an entry imported before the rule goes
    assert parse(retraction, "csv", allow_retract=True).bad_lines == 0
    assert read_list(io.StringIO(f"md5 {EMPTY_MD5}\n"), "plain", adding=False).bad_lines == 0


def test_low_quality_pdq_rows_are_refused_unless_allowed() -> None:
    content = csv_rows(
        f"pdq,{PDQ},,,49,", f"pdq,{PDQ},,,50,", header="type,hash,item,category,quality,action"
    )
    found = parse(content, "csv")
    assert [(e.line, e.reason) for e in found.errors] == [
        (2, "quality 49 is below 50: unreliable (--allow-low-quality keeps it)")
    ]
    allowed = read_list(io.StringIO(content), "csv", allow_low_quality=True)
    assert (allowed.bad_lines, allowed.valid_rows, allowed.low_quality) == (0, 2, 1)

"""Hashing files: the list format's encodings, PDQ bit for bit the reference's (against an independent
implementation of Meta's algorithm, tests/pdq_oracle.py), the query variants that
recover mirrored, rotated and framed copies (measured on generated photos), draft decoding, bad files."""

import platform
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import imagehash
import numpy as np
import pdqhash
import pytest
from PIL import Image

from matcher import HASH_TYPES, get_hash_type
from scanner import hashfile
from scanner.defaults import DEFAULT_TYPES, DRAFT_SIZE
from scanner.hashfile import HashOptions, hash_file, hash_files
from scanner.hashing import (
    FILE_TYPES,
    IMAGE_TYPES,
    LICENSED_TYPES,
    VIDEO_TYPES,
    CannotCompute,
    check_types,
    image_hashes,
    pdq,
    pdq_dihedral,
)
from scanner.loading import load_image
from tests.fixtures.images import (
    flipped,
    letterboxed,
    mirrored,
    noise_texture,
    photo,
    rotated,
    save_jpeg,
    with_border,
    write_bad_files,
)
from tests.pdq_oracle import pdq_reference

SEEDS = range(6)
LIST_SIDE = HashOptions(types=("pdq", "phash", "dhash"))
QUERY_SIDE = HashOptions(types=("pdq", "phash", "dhash"), dihedral=True, trim=True, draft_size=DRAFT_SIZE)
Transform = Callable[[Image.Image], Image.Image]


def reference_pdq_hex(bits: np.ndarray) -> str:
    """python-threatexchange's conversion of pdqhash's bit vector (most significant bit first)."""
    text = "".join(str(int(bit)) for bit in bits)
    return f"{int(text, 2):064x}"


def test_pdq_hex_is_the_reference_encoding() -> None:
    image = photo(1)
    bits, quality = pdqhash.compute(np.asarray(image))
    found = pdq(image)
    assert found.hash == reference_pdq_hex(bits)
    assert found.quality == quality > 50
    assert get_hash_type("pdq").format(get_hash_type("pdq").parse(found.hash)) == found.hash


@pytest.mark.parametrize(
    ("seed", "size"), [(1, (320, 240)), (2, (640, 480)), (3, (333, 517)), (4, (97, 1201))]
)
def test_pdq_is_the_reference_algorithm_bit_for_bit(seed: int, size: tuple[int, int]) -> None:
    image = photo(seed, size)
    expected, quality = pdq_reference(np.asarray(image))
    found = pdq(image)
    assert found.hash == expected
    assert found.quality == quality


@pytest.mark.parametrize(
    ("seed", "size"), [(2, (320, 240)), (3, (408, 306)), (4, (97, 1201)), (5, (1001, 777)), (6, (3001, 2000))]
)
def test_dihedral_variants_are_the_hashes_of_the_turned_images(seed: int, size: tuple[int, int]) -> None:
    # bit for bit, in the reference's order: also where a side's box window is even (240, 306, 1201), which
    # the reference's own dihedral hashes (signs of one DCT) miss by up to 32 bits
    image = photo(seed, size)
    turns = [
        image, *(image.transpose(turn) for turn in (
            Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_180, Image.Transpose.ROTATE_270,
            Image.Transpose.FLIP_TOP_BOTTOM, Image.Transpose.FLIP_LEFT_RIGHT,
            Image.Transpose.TRANSPOSE, Image.Transpose.TRANSVERSE,
        ))
    ]  # fmt: skip
    variants = pdq_dihedral(image)
    assert [item.hash for item in variants] == [pdq(turned).hash for turned in turns]
    assert [item.variant for item in variants] == [False] + [True] * 7
    assert {item.quality for item in variants} == {pdq(image).quality}


def test_dihedral_hashes_match_the_reference_on_featureless_images_too() -> None:
    # a flat image has every coefficient within rounding of the median: its bits are the reference's
    # rounding, not the picture's, and its quality 0 (lists refuse such hashes unless told)
    for image in (Image.new("RGB", (300, 200), "black"), photo(1, (48, 32))):
        assert pdq_dihedral(image)[0].quality == pdq(image).quality


def test_64_bit_hashes_are_imagehash_strings(tmp_path: Path) -> None:
    path = save_jpeg(photo(3), tmp_path / "a.jpg")
    found = {item.type: item for item in hash_file(path, HashOptions()).hashes}
    with Image.open(path) as image:
        assert found["phash"].hash == str(imagehash.phash(image.convert("RGB")))
        assert found["dhash"].hash == str(imagehash.dhash(image.convert("RGB")))
    assert found["md5"].quality is None
    assert [item.type for item in hash_file(path, HashOptions()).hashes] == [
        name for name in DEFAULT_TYPES if name != "vpdq"
    ]


def test_check_types_validates_against_the_registry() -> None:
    # every registered type can be made but the licensed ones
    assert set(IMAGE_TYPES) | set(FILE_TYPES) | set(VIDEO_TYPES) | set(LICENSED_TYPES) == set(HASH_TYPES)
    assert check_types([" PDQ", "md5", "pdq"]) == ("pdq", "md5")
    with pytest.raises(LookupError, match="unknown hash type 'tmk"):
        check_types(["tmk"])
    with pytest.raises(CannotCompute, match="send the values to the match API"):
        check_types(["pdq", "PhotoDNA"])


def nearest(query: HashOptions, listed: Path, copy: Path, type_name: str) -> int:
    """Distance from the listed file's hash to the nearest hash the query side sends for the copy."""
    hash_type = get_hash_type(type_name)
    (entry,) = [hash_type.parse(h.hash) for h in hash_file(listed, LIST_SIDE).hashes if h.type == type_name]
    sent = [hash_type.parse(h.hash) for h in hash_file(copy, query).hashes if h.type == type_name]
    return min(hash_type.distance(entry, code) for code in sent)


def recovered(tmp_path: Path, transform: Transform, query: HashOptions, type_name: str) -> int:
    """How many of the generated photos' transformed JPEG copies are within the type's threshold."""
    threshold = get_hash_type(type_name).default_threshold
    count = 0
    for seed in SEEDS:
        listed = save_jpeg(photo(seed), tmp_path / f"{seed}.jpg")
        copy = save_jpeg(transform(photo(seed)), tmp_path / f"{seed}-copy.jpg", quality=80)
        count += nearest(query, listed, copy, type_name) <= threshold
    return count


@pytest.mark.parametrize("transform", [mirrored, rotated, flipped])
def test_dihedral_variants_recover_turned_copies(tmp_path: Path, transform: Transform) -> None:
    without = HashOptions(types=QUERY_SIDE.types, trim=True, draft_size=DRAFT_SIZE)
    assert recovered(tmp_path, transform, without, "pdq") == 0
    assert recovered(tmp_path, transform, QUERY_SIDE, "pdq") == len(SEEDS)


@pytest.mark.parametrize("transform", [with_border, letterboxed])
@pytest.mark.parametrize("type_name", ["pdq", "phash", "dhash"])
def test_trimming_recovers_framed_copies(tmp_path: Path, transform: Transform, type_name: str) -> None:
    without = HashOptions(types=QUERY_SIDE.types, dihedral=True, draft_size=DRAFT_SIZE)
    assert recovered(tmp_path, transform, without, type_name) == 0
    assert recovered(tmp_path, transform, QUERY_SIDE, type_name) == len(SEEDS)


def test_images_without_borders_send_no_extra_hashes(tmp_path: Path) -> None:
    path = save_jpeg(photo(4), tmp_path / "a.jpg")
    sent = hash_file(path, QUERY_SIDE).hashes
    assert [item.type for item in sent].count("phash") == 2  # the image's and its mirror's
    assert [item.type for item in sent].count("pdq") == 8


@pytest.mark.parametrize("type_name", ["phash", "dhash"])
def test_mirrored_variants_of_64_bit_hashes_recover_mirrored_copies(tmp_path: Path, type_name: str) -> None:
    without = HashOptions(types=QUERY_SIDE.types, trim=True, draft_size=DRAFT_SIZE)
    assert recovered(tmp_path, mirrored, without, type_name) == 0
    assert recovered(tmp_path, mirrored, QUERY_SIDE, type_name) == len(SEEDS)


@pytest.mark.parametrize("size", [(400, 300), (257, 341), (1024, 768)])
def test_64_bit_hashes_and_their_mirrored_variants_are_imagehash_bit_for_bit(size: tuple[int, int]) -> None:
    """The image is reduced once for the hash and its mirrored variant: both stay imagehash's own."""
    functions = {
        "phash": imagehash.phash,
        "dhash": imagehash.dhash,
        "ahash": imagehash.average_hash,
        "whash": imagehash.whash,
    }
    for seed in range(8):
        image = photo(seed, size)
        found = image_hashes(image, tuple(functions), dihedral=True)
        for name, function in functions.items():
            wanted = [str(function(image)), str(function(mirrored(image)))]
            assert [item.hash for item in found if item.type == name] == wanted, (name, seed)
            assert [item.variant for item in found if item.type == name] == [False, True]


PNG_DRIFT = {"pdq": 16, "phash": 3, "dhash": 3}
"""The most bits a reduced PNG's hashes may differ from its full-size ones (default thresholds 48, 8, 8;
unrelated photos 90-128 and 20-40 apart). Measured: at most 12, 2 and 3 on these photos."""


def test_reducing_pngs_moves_hashes_within_the_stated_bound(tmp_path: Path) -> None:
    types = ("pdq", "phash", "dhash")
    worst = dict.fromkeys(types, 0)
    for seed in range(6):
        for size in ((750, 560), (1280, 1080), (600, 900)):
            path = tmp_path / f"{seed}-{size[0]}.png"
            photo(seed, size).save(path)
            reduced = load_image(path, draft_size=DRAFT_SIZE).image
            assert reduced is not None
            assert DRAFT_SIZE <= min(reduced.size) < 2 * DRAFT_SIZE  # hashed at reduced size
            full = {h.type: h.hash for h in hash_file(path, HashOptions(types=types)).hashes}
            small = {
                h.type: h.hash for h in hash_file(path, HashOptions(types, draft_size=DRAFT_SIZE)).hashes
            }
            for name in types:
                hash_type = get_hash_type(name)
                distance = hash_type.distance(hash_type.parse(full[name]), hash_type.parse(small[name]))
                worst[name] = max(worst[name], distance)
    assert all(worst[name] <= PNG_DRIFT[name] for name in types), worst
    assert worst["pdq"] > 0  # the reduction took place


def test_draft_decoding_moves_hashes_by_a_few_bits(tmp_path: Path) -> None:
    pdq_type = get_hash_type("pdq")
    for seed in range(3):
        path = save_jpeg(photo(seed, (1280, 1080)), tmp_path / f"{seed}.jpg")  # decoded at 320x270
        full = {h.type: h.hash for h in hash_file(path, LIST_SIDE).hashes}
        draft = {
            h.type: h.hash
            for h in hash_file(path, HashOptions(types=LIST_SIDE.types, draft_size=DRAFT_SIZE)).hashes
        }
        drafted = load_image(path, draft_size=DRAFT_SIZE).image
        assert drafted is not None
        assert drafted.size == (320, 270)
        assert pdq_type.distance(pdq_type.parse(full["pdq"]), pdq_type.parse(draft["pdq"])) <= 16
        assert imagehash.hex_to_hash(full["phash"]) - imagehash.hex_to_hash(draft["phash"]) <= 2


def test_bad_files_are_named_never_raised(tmp_path: Path) -> None:
    kinds = write_bad_files(tmp_path)
    options = HashOptions(dihedral=True, trim=True, draft_size=DRAFT_SIZE)
    for name, kind in kinds.items():
        found = hash_file(tmp_path / name, options)
        assert found.problem is not None
        assert found.problem.kind == kind, name
        assert {"md5", "sha256"} <= {item.type for item in found.hashes}
    assert "pdq" in {item.type for item in hash_file(tmp_path / "animated.gif", options).hashes}


def test_unreadable_files_get_no_hash(tmp_path: Path) -> None:
    found = hash_file(tmp_path / "gone.jpg", HashOptions())
    assert found.hashes == ()
    assert found.problem is not None
    assert found.problem.kind == "unreadable"


def test_too_many_pixels_by_our_limit(tmp_path: Path) -> None:
    path = save_jpeg(photo(5), tmp_path / "a.jpg")
    found = hash_file(path, HashOptions(max_pixels=320 * 240 - 1))
    assert found.problem is not None
    assert found.problem.kind == "too_large"
    assert [item.type for item in found.hashes] == ["md5", "sha256"]


def test_worker_processes_give_the_same_hashes_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hashfile, "WINDOW", 2)  # several windows
    paths = [save_jpeg(photo(seed), tmp_path / f"{seed}.jpg") for seed in range(4)]
    paths.append(tmp_path / "missing.jpg")
    assert list(hash_files(paths, QUERY_SIDE, workers=2)) == list(hash_files(paths, QUERY_SIDE, workers=1))


VARIANT_RADIUS = 36
"""The PDQ radius the turned copies' matching variant needs on these photos (README, scan workload):
measured at most 34 (small originals, where PDQ's downscaling is least symmetric), 16 on large ones."""


def test_the_turned_copies_of_the_image_as_stored_are_marked_variants(tmp_path: Path) -> None:
    plain = hash_file(save_jpeg(photo(4), tmp_path / "a.jpg"), QUERY_SIDE).hashes
    marks = [(item.type, item.variant) for item in plain]
    assert marks.count(("pdq", False)) == 1
    assert marks.count(("pdq", True)) == 7
    assert marks.count(("phash", False)) == 1
    assert marks.count(("phash", True)) == 1
    assert plain[0].type == "pdq"
    assert not plain[0].variant
    framed = hash_file(save_jpeg(with_border(photo(4)), tmp_path / "b.jpg"), QUERY_SIDE).hashes
    trimmed = [item for item in framed if item.type == "pdq"][8:]  # the trimmed copy's: full radius
    assert len(trimmed) == 8
    assert not any(item.variant for item in trimmed)


@pytest.mark.parametrize("transform", [mirrored, rotated, flipped])
@pytest.mark.parametrize("size", [(320, 240), (1024, 768)])
def test_turned_copies_match_through_a_variant_within_the_variant_radius(
    tmp_path: Path, transform: Transform, size: tuple[int, int]
) -> None:
    pdq_type = get_hash_type("pdq")
    for seed in SEEDS:
        listed = save_jpeg(photo(seed, size), tmp_path / f"{seed}.jpg")
        (entry,) = [pdq_type.parse(h.hash) for h in hash_file(listed, LIST_SIDE).hashes if h.type == "pdq"]
        copy = save_jpeg(transform(photo(seed, size)), tmp_path / f"{seed}-copy.jpg", quality=60)
        sent = [h for h in hash_file(copy, QUERY_SIDE).hashes if h.type == "pdq" and h.variant]
        assert min(pdq_type.distance(entry, pdq_type.parse(h.hash)) for h in sent) <= VARIANT_RADIUS


MAPPED = """
import ctypes, sys
from scanner.hashfile import keep_freed_memory
class Info(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]
mallinfo2 = ctypes.CDLL(None).mallinfo2
mallinfo2.restype = Info
if sys.argv[1] == "kept":
    assert keep_freed_memory()
before = mallinfo2().hblkhd
buffer = ctypes.create_string_buffer(4 << 20)  # an image's buffers
print(mallinfo2().hblkhd - before)
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_a_hashing_process_keeps_image_sized_buffers_in_its_heap() -> None:
    """By default glibc maps a block of 4 MiB on its own and unmaps it when freed (the next image's
    buffers fault in anew); after :func:`keep_freed_memory` it comes from the heap, reused."""

    def mapped(mode: str) -> int:
        run = subprocess.run([sys.executable, "-c", MAPPED, mode], capture_output=True, text=True, check=True)
        return int(run.stdout)

    assert mapped("default") >= 4 << 20
    assert mapped("kept") == 0


CHECKED = HashOptions(types=("pdq", "phash", "dhash"), check_scaling=True)


def test_a_pdq_its_half_size_copy_does_not_match_gets_quality_zero_on_the_list_side(tmp_path: Path) -> None:
    """A scan hashes copies at reduced size (draft decoding): a listed PDQ that moves past the
    threshold when its own picture is halved would never match them, and its disagreement would hold
    the file's pHash/dHash match for review. So the list side marks it unusable (the import refuses it
    unless allowed), with a note, and the picture is listed on pHash and dHash."""
    texture = tmp_path / "texture.png"
    noise_texture(3).save(texture)
    plain = {h.type: h for h in hash_file(texture, LIST_SIDE).hashes}
    assert plain["pdq"].quality == 100  # PDQ's own quality does not see it
    checked = hash_file(texture, CHECKED)
    found = {h.type: h for h in checked.hashes}
    assert found["pdq"].quality == 0
    assert found["pdq"].hash == plain["pdq"].hash
    assert found["phash"] == plain["phash"]
    assert len(checked.notes) == 1, checked.notes
    assert "PDQ moves" in checked.notes[0]
    for seed in SEEDS:  # photographs keep theirs
        path = tmp_path / f"{seed}.png"
        photo(seed, (640, 480)).save(path)
        result = hash_file(path, CHECKED)
        assert [h.quality for h in result.hashes if h.type == "pdq"] == [
            h.quality for h in hash_file(path, LIST_SIDE).hashes if h.type == "pdq"
        ]
        assert result.notes == ()


def test_the_variants_of_a_picture_whose_pdq_does_not_survive_halving_are_unusable_too(
    tmp_path: Path,
) -> None:
    """A crop or a turn of a fine texture is as fine: were one of its PDQ rows kept (a crop may happen to
    move less), the item would have a PDQ entry again, which a scanned copy's PDQ would contradict."""
    texture = tmp_path / "texture.png"
    noise_texture(3).save(texture)
    found = hash_file(texture, replace(CHECKED, variants=True))
    qualities = {h.label: h.quality for h in found.hashes if h.type == "pdq"}
    assert len(qualities) == 7  # the picture and its six variants
    assert set(qualities.values()) == {0}, qualities
    assert len(found.notes) == 1

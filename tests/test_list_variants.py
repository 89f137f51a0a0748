"""List-side variants: ``hashmatch hash --variants`` lists centre crops and small turns cut to the
inside of each picture as variant rows of its item; imported and published through the command line and
served by a real server (uvicorn), a 5 % crop and a turn of 2.5 degrees cut to the inside of a listed
photo then match through ``hashmatch scan``, the hotline sees which variant matched, the hoster does not."""

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from PIL import Image

from cli.main import main
from indexer.formats import read_list
from scanner.hashfile import HashOptions, hash_file
from scanner.variants import LIST_VARIANTS, MIN_SIDE, centre_crop, list_variants, turn_inside
from tests.fixtures.images import photo, save_jpeg
from tests.test_scan_http import Server, provision, report_rows, scan_argv

SEEDS = (61, 62)


def test_hash_variants_writes_labelled_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    save_jpeg(photo(SEEDS[0]), tmp_path / "a.jpg")
    assert main(["hash", str(tmp_path / "a.jpg"), "--variants", "--types", "pdq,phash,md5"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert list(rows[0]) == ["type", "hash", "item", "quality", "variant"]
    labels = [label for label, _ in LIST_VARIANTS]
    assert [(row["type"], row["variant"]) for row in rows] == [
        *[("pdq", label) for label in ["", *labels]],
        *[("phash", label) for label in ["", *labels]],
        ("md5", ""),  # a file's digest has no variants
    ]
    assert {row["item"] for row in rows} == {"a.jpg"}
    found = read_list([line + "\n" for line in _csv(rows)], "csv")
    assert found.bad_lines == 0
    assert {meta.variant for meta in found.metas} == {None, *labels}


def _csv(rows: list[dict[str, str]]) -> list[str]:
    out = io.StringIO()
    writer = csv.DictWriter(out, list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().splitlines()


def test_a_variant_row_needs_an_item() -> None:
    found = read_list(["type,hash,item,variant\n", f"md5,{'ab' * 16},,crop5\n"], "csv")
    assert [(error.line, error.reason) for error in found.errors] == [
        (2, "a variant needs an item: the item it is a transformed copy of")
    ]


def test_cropped_and_turned_copies_match_through_the_variants(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    material = tmp_path / "hotline"
    for seed in SEEDS:
        save_jpeg(photo(seed, (480, 360)), material / f"{seed}.jpg")
    list_csv = tmp_path / "list.csv"
    assert main(["hash", str(material), "--variants", "--out", str(list_csv)]) == 0
    running = Server(tmp_path / "server")
    key = provision(running.data, list_csv)
    hotline_key = _hotline_key(running.data)
    running.start()
    try:
        root = tmp_path / "storage"
        save_jpeg(_made(centre_crop(0.05)(photo(SEEDS[0], (480, 360)))), root / "crop.jpg", quality=80)
        save_jpeg(_made(turn_inside(-2.5)(photo(SEEDS[1], (480, 360)))), root / "turned.jpg", quality=80)
        save_jpeg(_made(centre_crop(0.05)(photo(70, (480, 360)))), root / "unrelated.jpg", quality=80)
        assert main(scan_argv(root, running.url, key, tmp_path)) == 0
        rows = report_rows(tmp_path)
        assert {ref for ref, row in rows.items() if row["matched"] == "true"} == {
            "s3://bucket/crop.jpg",
            "s3://bucket/turned.jpg",
        }
        crop = hash_file(root / "crop.jpg", HashOptions(types=("pdq",), draft_size=256)).hashes[0]
        item = {"type": "pdq", "hash": crop.hash, "ref": "crop"}
        seen = httpx.post(
            running.url + "/v1/match",
            json={"items": [item]},
            headers={"Authorization": f"Bearer {hotline_key}"},
        ).json()["results"][0]
        assert [(match["item"], match["variant"]) for match in seen["matches"]] == [
            (f"{SEEDS[0]}.jpg", "crop5")
        ]
        hoster = httpx.post(
            running.url + "/v1/match", json={"items": [item]}, headers={"Authorization": f"Bearer {key}"}
        ).json()["results"][0]
        assert hoster["matched"] is True
        assert "matches" not in hoster
        assert "crop5" not in str(hoster)
    finally:
        running.stop()


def _made(copy: Image.Image | None) -> Image.Image:
    assert copy is not None
    return copy


def _hotline_key(data: Path) -> str:
    environment = {**os.environ, "HASHMATCH_DATA_DIR": str(data)}
    environment.pop("HASHMATCH_DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", "keys", "create", "EOKM"],
        env=environment,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.splitlines()[0].strip()


SHAPES = [(2000, 150), (150, 2000), (200, 1800), (1, 1), (2, 2), (1, 500), (500, 1)]
"""Wide, tall and tiny pictures: some variants cannot be made of them (regression: a crash)."""


def _shaped(size: tuple[int, int]) -> Image.Image:
    width, height = size
    return photo(63, size) if min(size) >= 8 else Image.new("RGB", (width, height), (90, 40, 200))


@pytest.mark.parametrize("size", SHAPES)
def test_variants_too_thin_to_hold_information_are_not_made(size: tuple[int, int]) -> None:
    """A variant leaving less than half of a side, or fewer than :data:`MIN_SIDE` pixels on a side, is
    left out; the others are made."""
    width, height = size
    copies = dict(list_variants(_shaped(size)))
    for label, copy in copies.items():
        assert copy.width >= max(MIN_SIDE, width / 2), (label, copy.size)
        assert copy.height >= max(MIN_SIDE, height / 2), (label, copy.size)
    if min(size) >= 2 * MIN_SIDE:
        assert {"crop5", "crop10"} <= set(copies)
    assert not {"rot3deep", "rot-3deep"} & set(copies)  # 2*sin(3°)*long side > half the short one


@pytest.mark.parametrize("size", SHAPES)
def test_hash_with_variants_keeps_the_picture_of_any_shape(tmp_path: Path, size: tuple[int, int]) -> None:
    """The picture's own hashes come whatever its shape; only the variants that can be made do."""
    path = tmp_path / "shape.png"
    _shaped(size).save(path)
    options = HashOptions(types=("pdq", "phash", "dhash", "md5"), variants=True)
    found = hash_file(path, options)
    assert found.problem is None
    assert {item.type for item in found.hashes if item.label is None} == {"pdq", "phash", "dhash", "md5"}
    labels = {item.label for item in found.hashes} - {None}
    assert labels <= {label for label, _ in list_variants(_shaped(size))}
    assert not {"rot3deep", "rot-3deep"} & labels


def test_hash_variants_of_a_banner_through_the_command_line(tmp_path: Path) -> None:
    save_jpeg(photo(64, (2000, 150)), tmp_path / "banner.jpg")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "cli.main",
            "hash",
            "--variants",
            "--no-progress",
            str(tmp_path / "banner.jpg"),
        ],
        check=False,
        capture_output=True,
        text=True,
    )
    assert (done.returncode, done.stderr.splitlines()) == (0, [done.stderr.strip()])  # the summary only
    assert "0 files with problems" in done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    labels = {row["variant"] for row in rows}
    assert {"", "crop5", "crop10"} <= labels
    assert not {"rot3deep", "rot-3deep"} & labels

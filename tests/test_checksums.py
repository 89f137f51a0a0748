"""Checksums of an index version's files: written at publish, verified in constant memory before serving."""

import hashlib
import json
import os
import tracemalloc
from pathlib import Path

import numpy as np

from indexer.checksums import MANIFEST, verify_version
from indexer.serving import write_version
from matcher import HASH_TYPES
from tests.listdata import codes


def written(index_dir: Path) -> tuple[Path, dict[str, object]]:
    built = {
        "pdq": HASH_TYPES["pdq"].build_index(codes(40, 1), np.arange(40)),
        "md5": HASH_TYPES["md5"].build_index(codes(40, 2, 16), np.arange(40)),
    }
    directory = write_version(index_dir, "v1", built, {})
    return directory, json.loads((directory / MANIFEST).read_text())


def test_the_manifest_lists_size_and_sha256_of_every_file_and_a_fresh_version_verifies(
    tmp_path: Path,
) -> None:
    directory, manifest = written(tmp_path)
    files = manifest["files"]
    assert isinstance(files, dict)
    on_disk = sorted(
        str(path.relative_to(directory))
        for path in directory.rglob("*")
        if path.is_file() and path.name != MANIFEST
    )
    assert sorted(files) == on_disk
    assert "pdq/codes.faiss" in files
    assert "md5/codes.npy" in files
    assert files["pdq/index.json"]["size"] == (directory / "pdq" / "index.json").stat().st_size
    assert len(files["pdq/index.json"]["sha256"]) == 64
    assert verify_version(directory, manifest) == []


def test_each_kind_of_damage_is_one_problem_naming_the_file_relative_to_the_version(tmp_path: Path) -> None:
    directory, manifest = written(tmp_path)
    flipped = directory / "pdq" / "codes.faiss"
    data = bytearray(flipped.read_bytes())
    data[-5] ^= 0xFF
    flipped.write_bytes(bytes(data))  # same size
    os.truncate(directory / "md5" / "codes.npy", 10)
    (directory / "md5" / "keys.npy").unlink()
    problems = [str(problem) for problem in verify_version(directory, manifest)]
    assert problems == [
        "md5/codes.npy: 10 bytes, the manifest says 768",
        "md5/keys.npy: missing",
        "pdq/codes.faiss: its SHA-256 differs from the manifest's",
    ]
    assert all(str(tmp_path) not in problem for problem in problems)


def test_a_manifest_without_checksums_or_with_paths_outside_the_version_is_refused(tmp_path: Path) -> None:
    directory, manifest = written(tmp_path)
    legacy = {key: value for key, value in manifest.items() if key != "files"}
    assert [str(p) for p in verify_version(directory, legacy)] == [
        "manifest.json: lists no file checksums (written by an older hashmatch)"
    ]
    outside = {"../v1/pdq/codes.faiss": {"size": 1, "sha256": "0" * 64}}
    escaping = {**manifest, "files": {**manifest["files"], **outside}}  # type: ignore[dict-item]
    assert [str(p) for p in verify_version(directory, escaping)] == [
        "../v1/pdq/codes.faiss: not a file name inside the version"
    ]
    untyped = {**manifest, "files": {k: v for k, v in manifest["files"].items() if not k.startswith("md5/")}}  # type: ignore[attr-defined]
    assert [str(p) for p in verify_version(directory, untyped)] == [
        "manifest.json: lists no files of type md5"
    ]


def test_verification_streams_files_in_constant_memory(tmp_path: Path) -> None:
    directory = tmp_path / "v"
    (directory / "pdq").mkdir(parents=True)
    big = directory / "pdq" / "codes.faiss"
    with big.open("wb") as stream:
        stream.truncate(64 * 2**20)  # sparse: 64 MiB of zeros
    digest = hashlib.sha256(b"\0" * (64 * 2**20)).hexdigest()
    manifest = {"types": {}, "files": {"pdq/codes.faiss": {"size": 64 * 2**20, "sha256": digest}}}
    tracemalloc.start()
    try:
        assert verify_version(directory, manifest) == []
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * 2**20, f"verification held {peak / 2**20:.0f} MiB"

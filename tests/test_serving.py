"""Publishing index versions and serving them: atomic pointer, swaps while serving, broken versions."""

import json
from pathlib import Path

import numpy as np

from indexer.serving import IndexWatcher, ServedIndexes, prune, served_version
from matcher import HASH_TYPES, Index
from tests.listdata import publish


def indexes(seed: int, n: int = 50) -> tuple[dict[str, Index], np.ndarray]:
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 256, (n, 32), dtype=np.uint8)
    md5 = rng.integers(0, 256, (n, 16), dtype=np.uint8)
    ids = np.arange(n) + 1000 * seed
    return {
        "pdq": HASH_TYPES["pdq"].build_index(codes, ids),
        "md5": HASH_TYPES["md5"].build_index(md5, ids),
    }, codes


def test_nothing_is_served_before_the_first_publish(tmp_path: Path) -> None:
    assert served_version(tmp_path) is None
    assert ServedIndexes.open(tmp_path) is None
    watcher = IndexWatcher(tmp_path)
    assert watcher.check() is False
    assert watcher.current is None


def test_publish_then_search_the_served_version(tmp_path: Path) -> None:
    built, codes = indexes(1)
    publish(tmp_path, "v1", built, {"lists": [7]})
    served = ServedIndexes.open(tmp_path)
    assert served is not None
    assert served.version == "v1"
    assert served.manifest["types"]["pdq"] == {"entries": 50, "unique": 50}
    assert served.manifest["lists"] == [7]
    found = served.search("pdq", codes[3:4], 0)
    assert found.entry.tolist() == [1003]
    assert len(served.search("phash", np.zeros((1, 8), np.uint8), 8)) == 0  # no list of that type


def test_the_watcher_swaps_to_a_new_version_and_keeps_the_old_one_when_the_new_one_is_broken(
    tmp_path: Path,
) -> None:
    swaps: list[str] = []
    watcher = IndexWatcher(tmp_path, on_swap=lambda served: swaps.append(served.version))
    publish(tmp_path, "v1", indexes(1)[0], {})
    assert watcher.check() is True
    assert watcher.check() is False  # same version: nothing to do
    first = watcher.current
    publish(tmp_path, "v2", indexes(2)[0], {})
    assert watcher.check() is True
    assert watcher.current is not None
    assert watcher.current.version == "v2"
    assert first is not None
    assert first.search("pdq", indexes(1)[1][:1], 0).entry.tolist() == [1000]  # in-flight requests go on

    publish(tmp_path, "v3", indexes(3)[0], {})
    manifest = tmp_path / "v3" / "manifest.json"
    broken = json.loads(manifest.read_text())
    broken["types"]["phash"] = {"entries": 1, "unique": 1}  # a type whose directory is missing
    manifest.write_text(json.dumps(broken))
    assert watcher.check() is False
    assert watcher.current.version == "v2"
    assert watcher.last_error is not None
    assert "v3" in watcher.last_error
    assert swaps == ["v1", "v2"]


def test_republishing_a_version_only_moves_the_pointer(tmp_path: Path) -> None:
    publish(tmp_path, "v1", indexes(1)[0], {})
    publish(tmp_path, "v2", indexes(2)[0], {})
    written = (tmp_path / "v1" / "manifest.json").stat().st_mtime_ns
    publish(tmp_path, "v1", indexes(9)[0], {})
    assert served_version(tmp_path) == "v1"
    assert (tmp_path / "v1" / "manifest.json").stat().st_mtime_ns == written


def test_prune_keeps_the_served_and_newest_versions_and_drops_abandoned_staging(tmp_path: Path) -> None:
    for number in range(1, 6):
        publish(tmp_path, f"v{number}", indexes(number, 5)[0], {})
    publish(tmp_path, "v2", {}, {})
    (tmp_path / ".v6.abandoned").mkdir()
    removed = prune(tmp_path, keep=2)
    assert sorted(removed) == [".v6.abandoned", "v1", "v3", "v4"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["CURRENT", "v2", "v5"]

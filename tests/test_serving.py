"""Publishing index versions and serving them: atomic pointer, swaps while serving, broken versions."""

import json
import os
import shutil
from pathlib import Path

import numpy as np

from indexer.serving import POINTER, ServedIndexes, prune, served_version, versions_newest_first
from indexer.watcher import IndexWatcher
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


def test_a_data_directory_without_an_index_directory_serves_nothing_and_does_not_crash(
    tmp_path: Path,
) -> None:
    """A server started on a new data directory (no ``indexes/`` yet) waits for the first publish."""
    watcher = IndexWatcher(tmp_path / "indexes")
    assert watcher.check() is False
    assert watcher.current is None
    assert versions_newest_first(tmp_path / "indexes") == []


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
    assert [(r.version, r.problems) for r in watcher.state.refused] == [
        ("v3", ("v3/manifest.json: lists no files of type phash",))
    ]
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


def flip_byte(path: Path) -> None:
    """Damage ``path`` without changing its size."""
    data = bytearray(path.read_bytes())
    data[-5] ^= 0xFF
    path.write_bytes(bytes(data))


def publish_three(index_dir: Path) -> None:
    for number in (1, 2, 3):
        publish(
            index_dir, f"v{number}", indexes(number)[0], {"published_at": f"2026-11-0{number}T09:00:00+00:00"}
        )


def test_a_damaged_new_version_is_refused_once_the_previous_stays_served_and_a_repair_is_picked_up(
    tmp_path: Path,
) -> None:
    publish(tmp_path, "v1", indexes(1)[0], {})
    watcher = IndexWatcher(tmp_path)
    assert watcher.check() is True
    publish(tmp_path, "v2", indexes(2)[0], {})
    flip_byte(tmp_path / "v2" / "pdq" / "codes.faiss")
    assert watcher.check() is False
    state = watcher.state
    assert state.served is not None
    assert state.served.version == "v1"
    assert state.status == "degraded"
    assert [(r.version, r.problems) for r in state.refused] == [
        ("v2", ("v2/pdq/codes.faiss: its SHA-256 differs from the manifest's",))
    ]
    described = state.describe()
    assert "serving the older index version v1" in described
    assert "v2 was refused" in described
    assert str(tmp_path) not in described
    verified = watcher.verifications
    for _ in range(3):
        assert watcher.check() is False  # the refusal is remembered: no hashing on every poll
    assert watcher.verifications == verified
    shutil.rmtree(tmp_path / "v2")
    publish(tmp_path, "v2", indexes(2)[0], {})  # written again, whole
    assert watcher.check() is True
    assert watcher.state.status == "ok"
    assert watcher.state.refused == ()
    assert watcher.current is not None
    assert watcher.current.version == "v2"


def test_at_start_the_newest_good_kept_version_is_served_when_newer_ones_are_damaged(tmp_path: Path) -> None:
    publish_three(tmp_path)
    os.truncate(tmp_path / "v3" / "pdq" / "codes.faiss", 100)
    (tmp_path / "v2" / "md5" / "keys.npy").unlink()
    watcher = IndexWatcher(tmp_path)
    assert watcher.check() is True
    state = watcher.state
    assert state.served is not None
    assert state.served.version == "v1"
    assert state.status == "degraded"
    assert [r.version for r in state.refused] == ["v3", "v2"]
    assert state.refused[1].problems == ("v2/md5/keys.npy: missing",)
    assert state.describe().startswith(
        "serving the older index version v1 (published 2026-11-01T09:00:00+00:00)"
    )
    assert state.served.search("pdq", indexes(1)[1][:2], 0).entry.tolist() == [1000, 1001]

    for name in ("v1", "v2"):
        shutil.rmtree(tmp_path / name)
    nothing = IndexWatcher(tmp_path)
    assert nothing.check() is False
    assert nothing.current is None
    assert nothing.state.status == "unavailable"
    assert nothing.state.describe().startswith(
        "no index version can be served: version v3 was refused: v3/pdq/codes.faiss: 100 bytes"
    )
    assert str(tmp_path) not in nothing.state.describe()


def test_a_served_file_truncated_under_the_server_is_refused_at_the_next_poll_before_any_search(
    tmp_path: Path,
) -> None:
    publish_three(tmp_path)
    watcher = IndexWatcher(tmp_path)
    assert watcher.check() is True
    assert watcher.current is not None
    assert watcher.current.version == "v3"
    size = (tmp_path / "v3" / "pdq" / "codes.faiss").stat().st_size
    os.truncate(tmp_path / "v3" / "pdq" / "codes.faiss", 100)  # reading the cut pages would be SIGBUS
    assert watcher.check() is True  # the poll notices before a request touches the file
    served = watcher.current
    assert served is not None
    assert served.version == "v2"
    assert served.search("pdq", indexes(2)[1][:1], 0).entry.tolist() == [2000]
    assert watcher.state.refused[0].problems == (f"v3/pdq/codes.faiss: 100 bytes, the manifest says {size}",)
    # a fresh process never maps the truncated file: sizes are checked before mapping
    fresh = IndexWatcher(tmp_path)
    assert fresh.check() is True
    assert fresh.current is not None
    assert fresh.current.version == "v2"


def test_a_missing_current_pointer_serves_the_newest_good_version_as_a_fallback(tmp_path: Path) -> None:
    publish_three(tmp_path)
    (tmp_path / POINTER).unlink()
    watcher = IndexWatcher(tmp_path)
    assert watcher.check() is True
    assert watcher.current is not None
    assert watcher.current.version == "v3"
    assert watcher.state.status == "degraded"
    assert "CURRENT is missing" in watcher.state.describe()


def test_served_files_are_mapped_read_only(tmp_path: Path) -> None:
    publish_three(tmp_path)
    watcher = IndexWatcher(tmp_path)
    watcher.check()
    maps = [
        line.split() for line in Path("/proc/self/maps").read_text().splitlines() if str(tmp_path) in line
    ]
    assert maps, "nothing of the index is mapped"
    assert all("w" not in fields[1] for fields in maps), maps

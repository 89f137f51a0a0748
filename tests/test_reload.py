"""The API's background reload: swaps while searches run, and memory stays flat over 100 reloads."""

import gc
import threading
import time
from pathlib import Path

import numpy as np
import psutil

from indexer.serving import serve
from indexer.watcher import IndexWatcher
from matcher import HASH_TYPES
from tests.listdata import codes, publish

ENTRIES = 200_000


def publish_two(index_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    pdq = HASH_TYPES["pdq"]
    first, second = codes(ENTRIES, 1), codes(ENTRIES, 2)
    publish(index_dir, "one", {"pdq": pdq.build_index(first, np.arange(ENTRIES))}, {})
    publish(index_dir, "two", {"pdq": pdq.build_index(second, np.arange(ENTRIES) + 10**6)}, {})
    return first, second


def test_searches_never_fail_or_mix_versions_while_the_watcher_swaps(tmp_path: Path) -> None:
    first, second = publish_two(tmp_path)
    queries = np.concatenate([first[:5], second[:5]])
    answers = {"one": list(range(5)), "two": [10**6 + n for n in range(5)]}
    serve(tmp_path, "one")
    watcher = IndexWatcher(tmp_path)
    watcher.check()
    seen: set[str] = set()
    failures: list[str] = []
    stop = threading.Event()

    def requests() -> None:
        while not stop.is_set():
            served = watcher.current
            assert served is not None
            try:
                found = served.search("pdq", queries, 0).entry.tolist()
            except Exception as error:  # a request that fails during a swap is the bug looked for
                failures.append(repr(error))
                continue
            if found != answers[served.version]:
                failures.append(f"{served.version}: {found}")
            seen.add(served.version)

    worker = threading.Thread(target=requests)
    worker.start()
    for number in range(40):
        serve(tmp_path, "two" if number % 2 == 0 else "one")
        assert watcher.check()
        time.sleep(0.005)
    stop.set()
    worker.join()
    assert failures == []
    assert seen == {"one", "two"}


def test_the_background_thread_picks_up_a_publish(tmp_path: Path) -> None:
    publish_two(tmp_path)
    serve(tmp_path, "one")
    swaps: list[str] = []
    watcher = IndexWatcher(tmp_path, interval=0.02, on_swap=lambda served: swaps.append(served.version))
    watcher.start()
    try:
        serve(tmp_path, "two")
        deadline = time.monotonic() + 10
        while swaps != ["one", "two"] and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        watcher.stop()
    assert swaps == ["one", "two"]


def test_memory_and_mappings_stay_flat_over_100_reloads(tmp_path: Path) -> None:
    first, second = publish_two(tmp_path)
    process = psutil.Process()
    watcher = IndexWatcher(tmp_path)

    def reload(number: int) -> None:
        serve(tmp_path, "two" if number % 2 else "one")
        assert watcher.check()
        served = watcher.current
        assert served is not None
        index = served.indexes["pdq"]
        # touch every page of the version: a leaked version would stay resident
        assert len(index.search(first[:2] if served.version == "one" else second[:2], 0, method="scan")) == 2  # type: ignore[call-arg]

    for number in range(10):
        reload(number)
    gc.collect()
    rss, maps, fds = process.memory_info().rss, len(process.memory_maps()), process.num_fds()
    for number in range(10, 110):
        reload(number)
    gc.collect()
    grown = (process.memory_info().rss - rss) / 2**20
    assert len(process.memory_maps()) <= maps + 2
    assert process.num_fds() <= fds + 2
    assert grown < 20, f"resident memory grew {grown:.0f} MB over 100 reloads"

"""The helpers every benchmark prints and records its figures with."""

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

from benchmarks.report import (
    SEED,
    PartResult,
    add_part_arguments,
    finish_part,
    format_cell,
    latencies,
    latency_ms,
    machine_info,
    markdown_table,
    peak_rss_bytes,
    percentile,
    ratio,
    rss_bytes,
    write_json,
)


def test_markdown_table_aligns_numbers_right_and_text_left() -> None:
    table = markdown_table(["engine", "p50 ms", "note"], [["hashmatch", 0.5123, None], ["flat", 12.0, "x"]])
    assert table.splitlines() == [
        "| engine | p50 ms | note |",
        "|---|---:|---|",
        "| hashmatch | 0.512 |  |",
        "| flat | 12 | x |",
    ]


def test_markdown_table_refuses_rows_of_the_wrong_width() -> None:
    with pytest.raises(ValueError, match="row has 1 cells, the table 2 columns"):
        markdown_table(["a", "b"], [["only one"]])


@pytest.mark.parametrize(
    ("cell", "text"),
    [(None, ""), (True, "yes"), (7, "7"), (123456.7, "123457"), (0.000123456, "0.000123"), ("1.5x", "1.5x")],
)
def test_cells_are_formatted_to_three_significant_digits(cell: object, text: str) -> None:
    assert format_cell(cell) == text  # type: ignore[arg-type]


def test_percentile_matches_numpy() -> None:
    values = [float(v) for v in np.random.default_rng(1).exponential(size=501)]
    for fraction in (0.5, 0.99):
        assert percentile(values, fraction) == pytest.approx(np.quantile(values, fraction), rel=1e-3)
    assert percentile([3.0], 0.99) == 3.0
    with pytest.raises(ValueError, match="no values"):
        percentile([], 0.5)


def test_memory_figures_see_an_allocation() -> None:
    before = rss_bytes()
    block = np.ones(64 * 2**20, dtype=np.uint8)  # touched: resident
    assert rss_bytes() - before >= 60 * 2**20
    assert peak_rss_bytes() >= rss_bytes()
    del block


def test_json_record_carries_machine_seed_and_time(tmp_path: Path) -> None:
    machine = machine_info(("numpy", "no-such-package"))
    assert machine.cores >= 1
    assert machine.cpu
    assert machine.packages == {"numpy": np.__version__, "no-such-package": "not installed"}
    path = write_json("demo", {"rows": [1, np.int64(2)]}, seed=42, machine=machine, directory=tmp_path)
    document = json.loads(path.read_text())
    assert path.parent == tmp_path
    assert path.name.startswith("demo-")
    assert document["seed"] == 42
    assert document["rows"] == [1, 2]
    assert document["machine"]["cpu"] == machine.cpu
    assert document["timestamp"].endswith("+00:00")
    assert machine.describe().startswith(machine.cpu)


def test_latencies_time_each_call_once_in_order() -> None:
    calls: list[int] = []
    times = latencies(calls.append, 5)
    assert calls == [0, 1, 2, 3, 4]
    assert len(times) == 5
    assert all(t >= 0 for t in times)


def test_latency_ms_gives_median_and_p99_in_milliseconds() -> None:
    figures = latency_ms([0.001 * n for n in range(1, 101)])  # 1..100 ms
    assert figures["p50_ms"] == pytest.approx(50.5)
    assert figures["p99_ms"] == pytest.approx(99.01, rel=1e-3)


@pytest.mark.parametrize(
    ("value", "baseline", "text"),
    [(3.0, 1.5, "2.00x"), (1.0, 4.0, "0.25x"), (46.0, 1.15, "40x"), (0.0016, 1.5, "0.0011x"),
     (None, 1.0, None), (1.0, None, None), (1.0, 0.0, None)],
)  # fmt: skip
def test_ratio_is_value_over_baseline(value: float | None, baseline: float | None, text: str | None) -> None:
    assert ratio(value, baseline) == text


def _part_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_part_arguments(parser, "small sizes")
    return parser.parse_args(argv)


def test_part_arguments_default_to_the_suite_seed() -> None:
    args = _part_args([])
    assert (args.quick, args.seed, args.record) == (False, SEED, None)
    assert _part_args(["--quick", "--seed", "3"]).seed == 3


def test_a_part_under_the_suite_hands_back_its_section_and_record(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record = tmp_path / "part.json"
    part = PartResult("demo", "Demo part", "| a |\n|---|", {"rate": np.float64(2.5)})
    finish_part(part, _part_args(["--record", str(record)]))
    assert json.loads(record.read_text()) == {
        "name": "demo",
        "title": "Demo part",
        "markdown": "| a |\n|---|",
        "record": {"rate": 2.5},
    }
    assert capsys.readouterr().out == ""  # the suite prints the sections, once

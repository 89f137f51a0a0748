"""The suite's entry point (which parts ``--only`` selects) and the matcher part's summary table."""

import argparse

import pytest

from benchmarks.__main__ import PARTS, parse_parts
from benchmarks.matcher_report import summary_rows


def test_parts_run_in_the_suites_order_whatever_the_order_given() -> None:
    assert parse_parts("scanner, matcher") == ("matcher", "scanner")
    assert parse_parts("http") == ("http",)
    assert parse_parts(",".join(reversed(PARTS))) == PARTS


@pytest.mark.parametrize("text", ["", "matcher,gpu", " , "])
def test_unknown_or_missing_parts_are_refused_with_the_choices(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="expected some of matcher, lists, http, scanner"):
        parse_parts(text)


def _figures(p50_ms: float, recall: float = 1.0, extra: int = 0) -> dict[str, float]:
    return {
        "p50_ms": p50_ms,
        "p99_ms": 2 * p50_ms,
        "batch_1": 1000 / p50_ms,
        "recall": recall,
        "extra": extra,
    }


def test_the_matcher_summary_compares_hashmatch_with_both_baselines_per_threshold() -> None:
    record = {
        "case": {"hash_name": "pdq", "size": 10_000_000, "shape": "uniform"},
        "hashmatch": {"31": _figures(1.0), "48": _figures(10.0, recall=0.5, extra=2)},
        "faiss-flat": {"31": _figures(13.0), "48": _figures(15.0)},
        "pytx-PDQIndex": {"31": _figures(4.5)},
    }
    assert summary_rows([record]) == [
        ["pdq", 31, "10,000,000", "uniform", 1.0, 2.0, 1000.0, 13.0, 4.5, "13x", "4.50x", "1"],
        ["pdq", 48, "10,000,000", "uniform", 10.0, 20.0, 100.0, 15.0, None, "1.50x", None, "0.5 (+2 wrong)"],
    ]


def test_a_failed_case_has_no_summary_row() -> None:
    record = {"case": {"hash_name": "phash", "size": 1000, "shape": "biased"}, "hashmatch": {"failed": "x"}}
    assert summary_rows([record]) == []

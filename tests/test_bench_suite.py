"""The suite's entry point: which parts ``--only`` selects."""

import argparse

import pytest

from benchmarks.__main__ import PARTS, parse_parts


def test_parts_run_in_the_suites_order_whatever_the_order_given() -> None:
    assert parse_parts("scanner, matcher") == ("matcher", "scanner")
    assert parse_parts("http") == ("http",)
    assert parse_parts(",".join(reversed(PARTS))) == PARTS


@pytest.mark.parametrize("text", ["", "matcher,gpu", " , "])
def test_unknown_or_missing_parts_are_refused_with_the_choices(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="expected some of matcher, lists, http, scanner"):
        parse_parts(text)

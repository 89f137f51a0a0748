"""Every README example runs as written: ``tests/readme_examples.py`` runs each ``$`` command of the
README (and docs/, deploy/README.md) against a fresh demo world and a real ``hashmatch serve``, and compares
what it prints with what the README shows."""

import shutil
from pathlib import Path

import pytest

from tests.readme_examples import blocks, documents, matches, run_examples


@pytest.mark.skipif(shutil.which("curl") is None, reason="the HTTP examples are curl commands: install curl")
def test_every_example_prints_what_the_readme_shows(tmp_path: Path) -> None:
    outcomes = run_examples(documents(), tmp_path)
    failed = [outcome.describe() for outcome in outcomes if outcome.problem is not None]
    assert failed == [], "\n" + "\n".join(failed)
    assert sum(outcome.block.skip is None for outcome in outcomes) >= 30


def test_every_skipped_example_says_why() -> None:
    skipped = [block for path in documents() for block in blocks(path) if block.skip is not None]
    assert skipped, "the serve example at least is skipped"
    assert all(block.skip and block.skip.strip() for block in skipped)


@pytest.mark.parametrize(
    ("shown", "printed", "same"),
    [
        (["a ... c"], "a b b c", True),
        (["a", "...", "d"], "a\nb\nc\nd", True),
        (["a", "...", "d"], "a\nd", True),
        (["a", "d"], "a\nb\nd", False),
        (
            ["in 1.6 s, notice ntc_zakqllfo4w4yag3u2bea2k74"],
            "in 0.2 s, notice ntc_4or3ixfquhshwy4fxntxfu5k",
            True,
        ),
        (
            ["version b3f66ef505252f42045ab40fe022315a at 2026-11-23 06:34:14"],
            "version 0c3e8f0f6a3b4be49d1f1b0c7d0f5a21 at 2027-01-02 10:00:00",
            True,
        ),
        (['{"a": 1,', ' "b": [2]}'], '{"a":1,"b":[2]}', True),
        (['{"a": 1}'], '{"a":2}', False),
        (["1 file"], "1 files", False),
    ],
)
def test_what_counts_as_the_same_output(shown: list[str], printed: str, same: bool) -> None:
    assert matches(shown, printed) is same

"""The console's SVG charts: pure functions of the figures, every label escaped, nothing dropped."""

import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest

from console.charts import bins, histogram, share_bars, share_line
from console.web import countdown
from tests.api.support import START

SVG = "{http://www.w3.org/2000/svg}"


def _parsed(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def test_bins_count_every_value_once_and_the_last_bin_takes_the_rest() -> None:
    assert bins([0.5, 1, 1.5, 3, 100], [0, 1, 2, 4]) == [1, 2, 2]
    assert bins([], [0, 1]) == [0]
    assert bins([-1.0], [0, 1, 2]) == [1, 0]  # below the first edge: counted in the first bin
    with pytest.raises(ValueError, match="increasing edges"):
        bins([1], [2, 1])


def test_share_bars_draw_one_bar_per_row_scaled_to_the_share_and_say_when_nothing_was_due() -> None:
    svg = _parsed(share_bars([("Example <Hosting>", 0.5), ("Other", None), ("Third", 1.0)], "per hoster"))
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    assert "Example <Hosting>" in texts  # escaped in the SVG, read back as text
    assert "nothing due" in texts
    assert {"50%", "100%"} <= set(texts)
    filled = [r for r in svg.iter(f"{SVG}rect") if r.get("fill") != "#eef2f6"]
    assert [float(r.get("width", 0)) for r in filled] == [310 * 0.5, 310.0]


def test_share_line_breaks_where_nothing_was_due() -> None:
    svg = _parsed(share_line([("a", 0.2), ("b", 0.4), ("c", None), ("d", 1.0), ("e", 0.9)], "over time"))
    lines = list(svg.iter(f"{SVG}polyline"))
    assert [len(line.get("points", "").split()) for line in lines] == [2, 2]
    assert len(list(svg.iter(f"{SVG}circle"))) == 4


def test_histogram_bars_are_as_tall_as_their_counts() -> None:
    svg = _parsed(histogram([1, 4, 0, 2], ["0-1 h", "1-2 h", "2-4 h", "4+ h"], "hours"))
    heights = [float(r.get("height", 0)) for r in svg.iter(f"{SVG}rect")]
    assert heights == [pytest.approx(154 * n / 4) for n in (1, 4, 0, 2)]
    with pytest.raises(ValueError, match="shorter"):
        histogram([1, 2], ["one"], "labels must match")


def test_countdown_says_how_long_is_left_or_how_long_it_is_overdue() -> None:
    assert countdown(START + timedelta(hours=5, minutes=7), START) == "in 5 h 07 min"
    assert countdown((START + timedelta(days=2, hours=3)).isoformat(), START) == "in 2 d 3 h"
    assert countdown(START - timedelta(minutes=90), START) == "1 h 30 min overdue"

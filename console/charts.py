"""Charts as SVG text, drawn on the server: pure functions of the figures (no JavaScript, no assets).
Every label is escaped; a value of None (nothing to measure) is drawn as a gap and said in words."""

import itertools
from collections.abc import Sequence
from html import escape

from markupsafe import Markup

WIDTH = 520
BAR = 22
GAP = 8
LABEL = 150


def bins(values: Sequence[float], edges: Sequence[float]) -> list[int]:
    """How many ``values`` fall in each ``[edges[i], edges[i+1])``; the last bin also takes everything
    at or above its lower edge (so nothing is dropped)."""
    if len(edges) < 2 or any(b <= a for a, b in itertools.pairwise(edges)):
        raise ValueError(f"expected at least two increasing edges, got {list(edges)}")
    counts = [0] * (len(edges) - 1)
    for value in values:
        for i in range(len(counts) - 1, -1, -1):
            if value >= edges[i]:
                counts[i] += 1
                break
        else:
            counts[0] += 1
    return counts


def share_bars(rows: Sequence[tuple[str, float | None]], title: str) -> Markup:
    """Horizontal bars of shares (0 to 1), one per labelled row."""
    height = max(1, len(rows)) * (BAR + GAP) + GAP
    span = WIDTH - LABEL - 60
    parts = [_open(WIDTH, height, title)]
    for i, (label, share) in enumerate(rows):
        y = GAP + i * (BAR + GAP)
        parts.append(
            f'<text x="{LABEL - 6}" y="{y + BAR * 0.7:.0f}" text-anchor="end">{escape(label[:24])}</text>'
        )
        parts.append(f'<rect x="{LABEL}" y="{y}" width="{span}" height="{BAR}" fill="#eef2f6"/>')
        if share is None:
            parts.append(f'<text x="{LABEL + 6}" y="{y + BAR * 0.7:.0f}">nothing due</text>')
            continue
        width = span * min(max(share, 0.0), 1.0)
        parts.append(f'<rect x="{LABEL}" y="{y}" width="{width:.1f}" height="{BAR}" fill="{_tone(share)}"/>')
        parts.append(f'<text x="{LABEL + span + 6}" y="{y + BAR * 0.7:.0f}">{share:.0%}</text>')
    return _close(parts)


def share_line(points: Sequence[tuple[str, float | None]], title: str) -> Markup:
    """A line of shares (0 to 1) over labelled periods; periods with nothing due break the line."""
    height, left, bottom, top = 200, 40, 30, 10
    span_x, span_y = WIDTH - left - 20, height - bottom - top
    step = span_x / max(1, len(points) - 1)
    parts = [_open(WIDTH, height, title)]
    for tick in (0.0, 0.5, 1.0):
        y = top + span_y * (1 - tick)
        parts.append(f'<line x1="{left}" x2="{WIDTH - 20}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d9e0e7"/>')
        parts.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{tick:.0%}</text>')
    segment: list[str] = []
    for i, (label, share) in enumerate(points):
        x = left + i * step
        if i % max(1, len(points) // 6) == 0:
            parts.append(f'<text x="{x:.1f}" y="{height - 10}" text-anchor="middle">{escape(label)}</text>')
        if share is None:
            parts.extend(_polyline(segment))
            segment = []
            continue
        y = top + span_y * (1 - min(max(share, 0.0), 1.0))
        segment.append(f"{x:.1f},{y:.1f}")
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#1f5fa8"><title>{escape(label)}: '
            f"{share:.0%}</title></circle>"
        )
    parts.extend(_polyline(segment))
    return _close(parts)


def histogram(counts: Sequence[int], labels: Sequence[str], title: str) -> Markup:
    """Vertical bars of ``counts`` with a label under each (e.g. bins of hours to removal)."""
    height, bottom, top = 200, 30, 16
    span_y = height - bottom - top
    width = (WIDTH - 20) / max(1, len(counts))
    tallest = max(counts, default=0) or 1
    parts = [_open(WIDTH, height, title)]
    for i, (count, label) in enumerate(zip(counts, labels, strict=True)):
        x = 10 + i * width
        bar = span_y * count / tallest
        parts.append(
            f'<rect x="{x + 3:.1f}" y="{top + span_y - bar:.1f}" width="{width - 6:.1f}" height="{bar:.1f}" '
            f'fill="#1f5fa8"/>'
        )
        parts.append(
            f'<text x="{x + width / 2:.1f}" y="{top + span_y - bar - 3:.1f}" '
            f'text-anchor="middle">{count}</text>'
        )
        parts.append(
            f'<text x="{x + width / 2:.1f}" y="{height - 10}" text-anchor="middle">{escape(label)}</text>'
        )
    return _close(parts)


def _tone(share: float) -> str:
    return "#1d7a46" if share >= 0.9 else "#9a6200" if share >= 0.6 else "#b3261e"


def _polyline(points: list[str]) -> list[str]:
    if len(points) < 2:
        return []
    return [f'<polyline points="{" ".join(points)}" fill="none" stroke="#1f5fa8" stroke-width="2"/>']


def _open(width: int, height: int, title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
    )


def _close(parts: list[str]) -> Markup:
    return Markup("".join([*parts, "</svg>"]))

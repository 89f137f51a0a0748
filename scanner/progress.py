"""Progress of long commands on standard error: a tqdm bar with rate and ETA on a terminal, one plain
line every :data:`EVERY` seconds otherwise (a cron job's log, a pipe), and a last line at the end of a
run that wrote any (work done within the first interval writes nothing)."""

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol, TextIO

from tqdm import tqdm

EVERY = 30.0
"""Seconds between two plain lines."""
LINE = "{desc}: {n_fmt}/{total_fmt} {unit}s ({percentage:.0f}%), {rate_fmt}, ETA {remaining}{postfix}"
OPEN_LINE = "{desc}: {n_fmt} {unit}s, {rate_fmt}{postfix}"
"""The line for work of unknown size (a listing read as a stream)."""


class Progress(Protocol):
    def update(self, n: int = 1) -> object: ...

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None: ...

    def close(self) -> None: ...


class PlainLines:
    """tqdm's figures as a line every ``every`` seconds, for a stream that is no terminal."""

    def __init__(
        self,
        total: int | None,
        unit: str,
        desc: str,
        stream: TextIO,
        scale: bool = False,
        every: float = EVERY,
    ) -> None:
        self.total, self.unit, self.desc, self.stream, self.every = total, unit, desc, stream, every
        self.scale = scale
        self.n = self.lines = 0
        self.postfix = ""
        self.started = self.last = time.monotonic()

    def update(self, n: int = 1) -> None:
        self.n += n
        if time.monotonic() - self.last >= self.every:
            self._line()

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        self.postfix = s

    def close(self) -> None:
        if self.lines:
            self._line()

    def _line(self) -> None:
        self.lines += 1
        self.last = time.monotonic()
        elapsed = self.last - self.started
        line = tqdm.format_meter(
            self.n,
            self.total,  # type: ignore[arg-type]  # None: a meter without a total (tqdm's own use)
            elapsed,
            prefix=self.desc,
            unit=self.unit,
            postfix=self.postfix or None,
            unit_scale=self.scale,
            bar_format=LINE if self.total is not None else OPEN_LINE,
        )
        self.stream.write(line + "\n")
        self.stream.flush()


class _Off:
    def update(self, n: int = 1) -> None:
        pass

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        pass

    def close(self) -> None:
        pass


@contextmanager
def progress(
    total: int | None,
    unit: str,
    desc: str,
    enabled: bool = True,
    stream: TextIO | None = None,
    scale: bool = False,
) -> Iterator[Progress]:
    """A progress display for ``total`` units of work (None: unknown; none if not ``enabled``), closed
    at the end;
    ``scale``: figures with k, M, G (bytes)."""
    out = sys.stderr if stream is None else stream
    bar: Progress
    if not enabled:
        bar = _Off()
    elif out.isatty():
        bar = tqdm(total=total, unit=unit, desc=desc, file=out, dynamic_ncols=True, unit_scale=scale)
    else:
        bar = PlainLines(total, unit, desc, out, scale)
    try:
        yield bar
    finally:
        bar.close()

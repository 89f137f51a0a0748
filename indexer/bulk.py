"""Helpers for loops over millions of rows."""

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: bulk reading creates millions of short-lived lists and
    tuples (no cycles), and each collection walks them all again; with it paused, reading a list file
    or entry rows is 2-3x faster. Reference counting still frees everything at once."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()

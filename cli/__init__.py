"""The ``hashmatch`` command line.

Importing it points numba's cache of compiled kernels at the data directory (``NUMBA_CACHE_DIR``, unless
set) before any command imports numba, which reads the variable once: every command and every server
worker then loads the kernels compiled once (by ``hashmatch warm`` or the first search)."""

from contextlib import suppress

from config import InvalidSettings, get_settings, use_numba_cache

with suppress(InvalidSettings):  # bad settings: the command stops on them itself, in its own words
    use_numba_cache(get_settings())

"""The ``hashmatch`` command line.

Importing it points numba's cache of compiled kernels at the data directory (``NUMBA_CACHE_DIR``, unless
set) before any command imports numba, which reads the variable once: every command and every server
worker then loads the kernels compiled once (by ``hashmatch warm`` or the first search). It reads the
environment itself, as :func:`config.use_numba_cache` does from the settings, so that commands which never
search (``--help``, ``types``) load no settings library."""

import os
from pathlib import Path

if (
    "NUMBA_CACHE_DIR" not in os.environ
):  # Settings.numba_cache_dir: <HASHMATCH_DATA_DIR, default var>/numba-cache
    data_dir = Path(os.environ.get("HASHMATCH_DATA_DIR") or "var")
    os.environ["NUMBA_CACHE_DIR"] = str((data_dir / "numba-cache").resolve())

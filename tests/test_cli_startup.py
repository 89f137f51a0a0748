"""Commands load only what they use: FastAPI and uvicorn only in ``serve``, FAISS and numba only where an
index is built or searched, Pillow and the perceptual hashers only in ``hash`` and ``scan``.

What is checked is which modules a command imported (in a fresh interpreter), never how long it took:
the times are in the benchmarks (``python -m benchmarks.startup``)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
SERVER_ONLY = {"fastapi", "uvicorn", "starlette"}
SEARCH_ONLY = {"faiss", "numba", "llvmlite"}
IMAGES_ONLY = {"PIL", "imagehash", "pdqhash"}
DATABASE = {"sqlalchemy", "alembic", "pydantic", "pydantic_settings"}

PROBE = """
import contextlib, io, json, sys
from cli.main import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    try:
        code = main(sys.argv[1:])
    except SystemExit as exit:
        code = exit.code
print(json.dumps({"code": code, "modules": sorted({name.split(".")[0] for name in sys.modules})}))
"""


def loaded(*argv: str, data_dir: Path | None = None) -> set[str]:
    """The top-level packages ``hashmatch ARGV...`` imported, run in a new interpreter."""
    environment = dict(os.environ)
    if data_dir is not None:
        environment["HASHMATCH_DATA_DIR"] = str(data_dir)
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, env=environment, check=True
    )
    answer = json.loads(done.stdout)
    assert answer["code"] == 0, done.stderr
    return set(answer["modules"])


@pytest.mark.parametrize("argv", [["--help"], ["lists", "--help"], ["scan", "--help"]])
def test_help_loads_no_dependency(argv: list[str]) -> None:
    assert loaded(*argv) & (SERVER_ONLY | SEARCH_ONLY | IMAGES_ONLY | DATABASE | {"numpy", "httpx"}) == set()


def test_types_loads_only_numpy() -> None:
    assert loaded("types") & (SERVER_ONLY | SEARCH_ONLY | IMAGES_ONLY | DATABASE | {"httpx"}) == set()


def test_lists_show_loads_neither_the_server_nor_the_search(tmp_path: Path) -> None:
    demo = [sys.executable, "-m", "cli.main", "demo", str(FIXTURES / "sample_list.txt")]
    subprocess.run(
        demo, env={**os.environ, "HASHMATCH_DATA_DIR": str(tmp_path)}, capture_output=True, check=True
    )
    modules = loaded("lists", "show", data_dir=tmp_path)
    assert "sqlalchemy" in modules
    assert modules & (SERVER_ONLY | SEARCH_ONLY | IMAGES_ONLY) == set()


def test_serve_loads_the_server_only_when_it_runs() -> None:
    assert loaded("serve", "--help") & SERVER_ONLY == set()

"""The layout the design card asks for: dependencies point one way; matcher imports nothing of ours."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
# package -> the packages of ours it may import
ALLOWED: dict[str, set[str]] = {
    "matcher": set(),
    "config": set(),
    "db": set(),  # the foundation: models, migrations, clock, periodic steps
    "indexer": {"matcher", "db", "config"},
    "accounts": {"db", "config"},
    "audit": {"db", "config"},
    "guard": {"matcher", "db", "config"},  # rate budgets and the probing guard
    "notices": {"indexer", "matcher", "db", "config", "audit"},
    "matching": {"indexer", "matcher", "db", "config", "notices"},  # the match service: it opens notices
    "api": {
        "indexer",
        "matcher",
        "db",
        "config",
        "accounts",
        "audit",
        "notices",
        "guard",
        "matching",
        "console",
    },
    "console": {"indexer", "matcher", "db", "config", "accounts", "audit", "notices", "guard"},
    "scanner": {"matcher"},
}
OURS = set(ALLOWED) | {"cli", "benchmarks"}
# the packages that run on the server: they handle hashes, never images
SERVER = sorted(set(ALLOWED) - {"scanner"})
IMAGE_LIBRARIES = {"PIL", "imagehash", "pdqhash", "cv2", "vpdq", "av"}


def imported_packages(package: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], set()).add(str(path.relative_to(ROOT)))
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_dependencies_point_one_way(package: str) -> None:
    imports = imported_packages(package)
    others = OURS - {package} - ALLOWED[package]
    forbidden = {name: files for name, files in imports.items() if name in others}
    assert forbidden == {}


@pytest.mark.parametrize("package", SERVER)
def test_no_server_package_touches_images(package: str) -> None:
    imports = imported_packages(package)
    assert IMAGE_LIBRARIES & imports.keys() == set()


def test_the_scanner_is_where_images_and_videos_are_read() -> None:
    assert IMAGE_LIBRARIES - {"cv2", "av"} <= imported_packages("scanner").keys()

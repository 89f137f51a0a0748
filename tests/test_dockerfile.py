"""The image installs every package of the project (there is no Docker engine here to build it)."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_the_dockerfile_copies_every_package_the_project_installs() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {name.rstrip("*") for name in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    copied = set(re.findall(r"^COPY (\w+) \./\1$", (ROOT / "Dockerfile").read_text(), flags=re.MULTILINE))
    assert copied == packages

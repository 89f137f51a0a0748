"""The container image, built and run: scripts/build-image builds the Dockerfile with buildah (no
daemon; the base made here with debootstrap, as no registry may be reachable), then runs the image with
the network off: ``hashmatch --version``, ``hashmatch types``, ``hashmatch serve`` on a demo list until
the image's own HEALTHCHECK passes, and one match answered at once (numba's kernels are in the image).

It needs root and Debian's buildah, podman, runc and debootstrap (scripts/ensure-services installs them
as root), and the network for the build (the Debian mirror, PyPI). It takes minutes (README, deploy):
HASHMATCH_TEST_SKIP_IMAGE=1 skips it on a developer's machine. tests/test_dockerfile.py reads the same
Dockerfile statically wherever this cannot run.
"""

import importlib.metadata
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
TOOLS = ("buildah", "podman", "runc", "debootstrap")


def _skip_reason() -> str | None:
    if os.environ.get("HASHMATCH_TEST_SKIP_IMAGE") == "1":
        return "HASHMATCH_TEST_SKIP_IMAGE=1: the image is not built"
    if os.geteuid() != 0:
        return "building the image needs root (buildah and podman without a daemon)"
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        return f"{', '.join(missing)} not installed (scripts/ensure-services installs them as root)"
    return None


def test_the_image_builds_and_serves_a_match_with_the_network_off() -> None:
    reason = _skip_reason()
    if reason is not None:
        pytest.skip(reason)
    image = f"localhost/hashmatch:test-{os.getpid()}"  # this run's own: another may build at once
    try:
        built = subprocess.run(
            [str(ROOT / "scripts" / "build-image")],
            env={**os.environ, "IMAGE": image},
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )
    finally:  # the tag only: the layers stay, the next build's cache
        subprocess.run(["podman", "rmi", image], capture_output=True, check=False)
    print(built.stdout)
    assert built.returncode == 0, f"{built.stdout[-4000:]}\n{built.stderr[-4000:]}"
    lines = built.stdout.splitlines()
    assert f"hashmatch {importlib.metadata.version('hashmatch')}" in lines  # the image's is this one
    assert "healthy" in lines  # the HEALTHCHECK passed on a served demo list
    assert any(line.startswith("first match: matched=True") for line in lines)

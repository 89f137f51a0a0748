"""The image, read statically (building it takes minutes and root: tests/test_image.py builds and runs it
where it can): every package copied, dependencies installed only from the hash-checked lock files, a
non-root user, numba's kernels compiled into the image, a health check on /readyz, several workers; the
compose file and HAProxy agree on the replicas."""

import re
import shlex
import tomllib
from pathlib import Path

import pytest
import yaml  # type: ignore[import-untyped]
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).parent.parent
DOCKERFILE = (ROOT / "Dockerfile").read_text()
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _instructions() -> list[tuple[str, str]]:
    """(instruction, arguments) pairs, continuation lines joined and comments dropped."""
    lines = [line for line in DOCKERFILE.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in joined.splitlines()
        if line.strip()
    ]


def _runtime_stage() -> list[tuple[str, str]]:
    """The instructions of the last stage: the image that runs."""
    instructions = _instructions()
    last_from = max(i for i, (name, _) in enumerate(instructions) if name == "FROM")
    return instructions[last_from:]


def _pinned(lock: str) -> dict[str, str]:
    """Name -> version of each requirement in a lock file, each checked to carry its hashes."""
    text = (ROOT / lock).read_text()
    pins: dict[str, str] = {}
    for block in re.split(r"\n(?=\S)", text):
        if block.startswith("#") or not block.strip():
            continue
        requirement, _, rest = block.partition(" ")
        name, _, version = requirement.partition("==")
        assert version, f"{lock}: {requirement} is not pinned"
        assert "--hash=sha256:" in rest, f"{lock}: {requirement} has no hash"
        pins[canonicalize_name(name)] = version
    return pins


def test_the_dockerfile_copies_every_package_the_project_installs() -> None:
    packages = {name.rstrip("*") for name in tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"][
        "setuptools"]["packages"]["find"]["include"]}  # fmt: skip
    copied = set(re.findall(r"^COPY (\w+) \./\1$", DOCKERFILE, flags=re.MULTILINE))
    assert copied == packages


@pytest.mark.parametrize("lock", ["requirements.lock", "requirements-build.lock"])
def test_every_pip_install_is_hash_checked_from_a_lock_file(lock: str) -> None:
    commands = [part for name, args in _instructions() if name == "RUN" for part in args.split("&&")]
    installs = [shlex.split(command) for command in commands if re.search(r"\bpip install\b", command)]
    assert any(["-r", lock] == words[i : i + 2] for words in installs for i in range(len(words))), lock
    for words in installs:
        # the project itself is the one install without hashes: from the copied sources, nothing downloaded
        assert "--require-hashes" in words or ("--no-index" in words and words[-1] == "."), words
        assert "--no-deps" in words, f"{words}: dependencies come from the lock file alone"


def test_the_lock_pins_every_dependency_of_the_project_within_its_range() -> None:
    pinned = _pinned("requirements.lock")
    for text in PROJECT["dependencies"]:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{name} is not in requirements.lock: run make lock"
        assert requirement.specifier.contains(pinned[name]), f"{name}=={pinned[name]} is outside {text}"


def test_the_build_lock_agrees_with_the_runtime_lock() -> None:
    runtime, build = _pinned("requirements.lock"), _pinned("requirements-build.lock")
    shared = set(runtime) & set(build)
    assert "numpy" in shared
    assert {name: runtime[name] for name in shared} == {name: build[name] for name in shared}


def test_the_image_runs_as_a_user_that_is_not_root() -> None:
    users = [args.strip() for name, args in _runtime_stage() if name == "USER"]
    assert users, "no USER in the runtime stage"
    assert users[-1] not in {"root", "0", "0:0"}


def test_numba_kernels_are_compiled_into_the_image_as_the_user_who_serves() -> None:
    stage = _runtime_stage()
    env = " ".join(args for name, args in stage if name == "ENV")
    cache = re.search(r"NUMBA_CACHE_DIR=(\S+)", env)
    assert cache, "NUMBA_CACHE_DIR is not set in the runtime stage"
    assert not cache.group(1).startswith("/tmp"), "the cache must live in the image, not in /tmp"
    user_at = next(i for i, (name, _) in enumerate(stage) if name == "USER")
    warm = [args for name, args in stage[user_at:] if name == "RUN" and "load_index" in args]
    assert warm, "no RUN after USER loads and searches an index"
    assert ".search(" in warm[0]
    assert "NUMBA_CACHE_DIR" in warm[0], "the warm step checks that the cache was filled"


def test_the_health_check_asks_readyz_without_curl() -> None:
    checks = [args for name, args in _runtime_stage() if name == "HEALTHCHECK"]
    assert len(checks) == 1
    assert "/readyz" in checks[0]
    assert "urllib" in checks[0]
    assert "curl" not in checks[0]


def test_the_server_starts_with_several_workers() -> None:
    commands = [args for name, args in _runtime_stage() if name == "CMD"]
    assert commands, "no CMD"
    assert "--workers" in commands[-1]


def test_haproxy_balances_exactly_the_compose_files_api_replicas() -> None:
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())["services"]
    replicas = {name for name, service in compose.items() if service.get("command", [None])[0] == "serve"}
    servers = re.findall(
        r"^\s*server (\S+) (\S+):8000\b", (ROOT / "deploy" / "haproxy.cfg").read_text(), re.M
    )
    assert len(replicas) >= 2
    assert {name for name, _ in servers} == replicas
    assert {host for _, host in servers} == replicas
    for name in replicas:
        assert "--workers" in compose[name]["command"], name
        assert compose[name]["environment"]["HASHMATCH_TICK_SECONDS"] == "0", f"{name}: the ticker ticks"
    assert "hashmatch notices tick" in " ".join(compose["ticker"]["command"])

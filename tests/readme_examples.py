"""Run the README's examples as written and compare what they print with what the README shows.

Every ```sh block with ``$ `` lines in README.md (and in docs/*.md, deploy/README.md when present) is an
example. Its commands run in order, all in one bash session per document (so ``export KEY=...`` carries
over), in a new working directory holding a fresh ``hashmatch demo`` world (``var/``, what ``make run``
sets up), the files the examples read (``eokm-2026-11-23.csv``, ``material/``, ``uploads/``, ...: made by
:func:`prepare`), and a running ``hashmatch serve`` on a free loopback port that replaces
``localhost:8000`` and ``https://hashmatch.example``. Standard error is merged into standard output, as a
terminal shows them. The session starts with ``$KEY``, ``$HOTLINE_KEY`` and ``$AUTHORITY_KEY`` set to the
demo's hoster, hotline and authority keys (``var/demo-keys/``); an example may set its own.

The rule for what is compared, also stated above the README's first example:

- the lines after a command are what it prints (a command shown without output is only checked to
  succeed); trailing spaces are ignored, and a JSON answer is compared without its whitespace;
- ``...`` stands for any text on its line; a line of its own ``...`` for any number of lines;
- values that differ on every run are compared by their shape only: notice ids (``ntc_`` + 24
  characters), API keys (``hm_...``), 32-hex-digit index versions, times (``2026-11-23 06:34:14``,
  ISO 8601), durations (``1.6 s``, ``0.4 ms``) and ``*_seconds`` numbers in JSON;
- a command must exit 0 unless what it shows holds ``hashmatch: error:``.

A block preceded by ``<!-- example: skip (why) -->`` is not run and is reported as skipped with the
reason. Run ``python -m tests.readme_examples [FILE ...]`` to see every example's outcome.
"""

import argparse
import contextlib
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
SKIP = re.compile(r"<!--\s*example:\s*skip\s*\((?P<reason>[^)]*)\)\s*-->")
MARK = "@@readme-example"
MARKER = re.compile(rf"\n?{MARK} (\d+) (\d+)@@\n?")
TIMEOUT_SECONDS = 300
SHAPES = [  # (pattern, what it becomes on both sides): values that differ on every run
    (re.compile(r"ntc_[a-z0-9]{24}"), "ntc_<id>"),
    (re.compile(r"hm_[a-z0-9]+_[A-Za-z0-9_-]+"), "hm_<key>"),
    (re.compile(r"(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])"), "<version>"),
    (
        re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:[+-]\d\d:\d\d|Z)?"),
        "<time>",
    ),
    (re.compile(r"(?<![\w.])\d+(?:\.\d+)? (?:s|ms)\b"), "<duration>"),
    (re.compile(r'("\w*seconds"\s*:\s*)\d+(?:\.\d+)?'), r"\1<n>"),
]


@dataclass
class Command:
    """One ``$`` line (with its continuation lines) and the output shown after it."""

    line: int
    text: str
    expected: list[str] = field(default_factory=list)


@dataclass
class Block:
    """A fenced ```sh block with commands; ``skip`` says why it is not run."""

    source: Path
    line: int
    commands: list[Command]
    skip: str | None = None


@dataclass
class Outcome:
    """How one command went: ``problem`` is None when it printed what the README shows."""

    block: Block
    command: Command
    problem: str | None
    actual: str = ""

    def describe(self) -> str:
        where = f"{self.block.source.name} line {self.command.line}"
        if self.block.skip is not None:
            return f"skipped  {where}: $ {self.command.text.splitlines()[0]}\n  {self.block.skip}"
        if self.problem is None:
            return f"ok       {where}: $ {self.command.text.splitlines()[0]}"
        shown = "\n".join(f"    | {line}" for line in self.actual.splitlines()[:40])
        return f"FAILED   {where}: $ {self.command.text.splitlines()[0]}\n  {self.problem}\n{shown}"


def documents() -> list[Path]:
    """The files whose examples are run."""
    found = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    deploy = ROOT / "deploy" / "README.md"
    return [*found, deploy] if deploy.exists() else found


def blocks(path: Path) -> list[Block]:
    """The document's ```sh blocks that hold ``$`` commands, in order."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    number = 0
    while number < len(lines):
        if lines[number].strip() != "```sh":
            number += 1
            continue
        start = number
        body: list[tuple[int, str]] = []
        number += 1
        while number < len(lines) and lines[number].strip() != "```":
            body.append((number + 1, lines[number]))
            number += 1
        commands = _commands(body)
        if commands:
            before = next((text for text in reversed(lines[:start]) if text.strip()), "")
            skipped = SKIP.search(before)
            found.append(Block(path, start + 1, commands, skipped["reason"] if skipped else None))
        number += 1
    return found


def _commands(body: Sequence[tuple[int, str]]) -> list[Command]:
    commands: list[Command] = []
    pending: Command | None = None
    for line, text in body:
        if pending is not None:
            pending.text += "\n" + text
            if _complete(pending.text):
                commands.append(pending)
                pending = None
        elif text.startswith("$ "):
            command = Command(line, text[2:])
            if _complete(command.text):
                commands.append(command)
            else:
                pending = command
        elif commands:
            commands[-1].expected.append(text)
    if pending is not None:
        raise ValueError(f"line {pending.line}: the command never ends (an unclosed quote or a trailing \\)")
    return commands


def _complete(text: str) -> bool:
    """True if bash would run ``text`` as it is: no unclosed quote, no trailing backslash."""
    if text.rstrip().endswith("\\"):
        return False
    try:
        shlex.split(text, comments=True)
    except ValueError:
        return False
    return True


def shape(text: str) -> str:
    """``text`` with the values that differ on every run replaced by their kind."""
    for pattern, replacement in SHAPES:
        text = pattern.sub(replacement, text)
    return text


def matches(expected: Sequence[str], actual: str) -> bool:
    """True if ``actual`` is what ``expected`` shows, by the rule in this module's docstring."""
    shown = shape("\n".join(expected)).strip("\n")
    got = shape(actual).strip("\n")
    if shown.startswith(("{", "[")):
        return (
            _pattern(re.sub(r"\s+", "", shown), multiline=False).fullmatch(re.sub(r"\s+", "", got))
            is not None
        )
    got = "\n".join(line.rstrip() for line in got.splitlines())
    return _pattern(shown, multiline=True).fullmatch(got) is not None


def _pattern(shown: str, *, multiline: bool) -> "re.Pattern[str]":
    if not multiline:
        return re.compile(".*?".join(re.escape(part) for part in shown.split("...")), re.DOTALL)
    parts = []
    for line in shown.splitlines():
        if line.strip() == "...":
            parts.append(r"(?:[^\n]*(?:\n|$))*?")
        else:
            pieces = line.rstrip().split("...")
            parts.append("[^\n]*?".join(re.escape(piece) for piece in pieces) + r"(?:\n|$)")
    return re.compile("".join(parts))


def run_examples(paths: Sequence[Path], workdir: Path) -> list[Outcome]:
    """Every example of ``paths``, run in ``workdir`` against a demo world and a server started here."""
    prepare(workdir)
    environment = _environment()
    subprocess.run(
        ["hashmatch", "demo", str(FIXTURES / "sample_list.txt")],
        cwd=workdir,
        env=environment,
        check=True,
        capture_output=True,
    )
    keys = workdir / "var" / "demo-keys"
    for variable, role in (("KEY", "hoster"), ("HOTLINE_KEY", "hotline"), ("AUTHORITY_KEY", "authority")):
        environment[variable] = (keys / f"{role}.key").read_text().strip()
    outcomes: list[Outcome] = []
    with _server(workdir, environment) as url:
        for path in paths:
            outcomes += _run_document(blocks(path), workdir, environment, url)
    return outcomes


def _run_document(
    found: Sequence[Block], workdir: Path, environment: dict[str, str], url: str
) -> list[Outcome]:
    runnable = [(block, command) for block in found if block.skip is None for command in block.commands]
    script = ["exec 2>&1"]
    for number, (_, command) in enumerate(runnable):
        text = command.text.replace("https://hashmatch.example", url).replace("localhost:8000", url)
        script += [text, f"printf '\\n{MARK} {number} %d@@\\n' $?"]
    session = subprocess.Popen(
        ["bash", "-c", "\n".join(script)],
        cwd=workdir,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: a command left running is stopped with it
    )
    try:
        printed, _ = session.communicate(timeout=TIMEOUT_SECONDS)
        late = ""
    except subprocess.TimeoutExpired:
        os.killpg(session.pid, signal.SIGKILL)
        printed, _ = session.communicate()
        late = f"still running after {TIMEOUT_SECONDS} s (all examples of a document share that time)"
    pieces = MARKER.split(printed)
    results: dict[int, tuple[str, int]] = {}
    for index in range(1, len(pieces) - 1, 3):
        results[int(pieces[index])] = (pieces[index - 1], int(pieces[index + 1]))
    outcomes = [
        Outcome(block, command, None) for block in found if block.skip for command in block.commands[:1]
    ]
    for number, (block, command) in enumerate(runnable):
        if number not in results:
            if late:
                outcomes.append(Outcome(block, command, late, pieces[-1]))
                late = ""
            else:
                outcomes.append(Outcome(block, command, "never ran: an earlier command stopped the session"))
            continue
        output, status = results[number]
        outcomes.append(Outcome(block, command, _judge(command, output, status), output))
    return outcomes


def _judge(command: Command, output: str, status: int) -> str | None:
    shows_error = any("hashmatch: error:" in line for line in command.expected)
    if status != 0 and not shows_error:
        return f"exit status {status}"
    if command.expected and not matches(command.expected, output):
        return "printed something else than the README shows"
    return None


def _environment() -> dict[str, str]:
    environment = {name: value for name, value in os.environ.items() if not name.startswith("HASHMATCH_")}
    environment["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{environment.get('PATH', '')}"
    environment["HASHMATCH_DATA_DIR"] = "var"
    environment["PYTHONUNBUFFERED"] = "1"  # standard output and error interleaved as written
    return environment


@contextlib.contextmanager
def _server(workdir: Path, environment: dict[str, str]) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = (workdir / "serve.log").open("w")
    process = subprocess.Popen(
        ["hashmatch", "serve", "--port", str(port)],
        cwd=workdir,
        env={
            **environment,
            "HASHMATCH_INDEX_POLL_SECONDS": "0.2",
        },  # a publish is served before the next step
        stdout=log,
        stderr=log,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/readyz", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"hashmatch serve did not come up: see {workdir / 'serve.log'}")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def prepare(workdir: Path) -> None:
    """The files the examples read, made deterministically (seeded)."""
    from tests.readme_files import write_example_files  # noqa: PLC0415 (Pillow only when the runner runs)

    write_example_files(workdir)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", type=Path, help="documents (default: README.md, docs/, deploy/)")
    parser.add_argument("--keep", action="store_true", help="keep the working directory and print it")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="readme-examples-"))
    try:
        outcomes = run_examples(args.files or documents(), workdir)
    finally:
        if args.keep:
            print(f"working directory: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    for outcome in outcomes:
        print(outcome.describe())
    failed = [outcome for outcome in outcomes if outcome.problem is not None]
    skipped = sum(outcome.block.skip is not None for outcome in outcomes)
    print(f"{len(outcomes)} commands: {len(failed)} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

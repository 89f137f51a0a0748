"""The attacks a hoster key can try to rebuild a listed hash from match / no match answers, played
against any ``ask`` function (the real server in tests/test_attacks.py, the bare rule in
tests/test_probing.py).

Each attacker holds one hash that matches a listed entry (a copy of a listed picture) and wants the
entry itself. It walks its hash to the edge of the entry's threshold (flipping one bit at a time while
the answer stays "match"), then reads the entry's bits one at a time by flipping each bit of the edge
point (REFERENCE, "Oracles"). What it has learned is the number of bits whose answer it received
before it was stopped; the test then checks that this stays within the allowed share.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np


class Stopped(Exception):
    """The service refused to answer (suspended): the attack is over."""


Ask = Callable[[Sequence[bytes]], list[bool]]
"""Match answers for a batch of codes, in order; raises :class:`Stopped` when refused."""


def flip_bit(code: bytes, bit: int) -> bytes:
    changed = bytearray(code)
    changed[bit // 8] ^= 0x80 >> (bit % 8)
    return bytes(changed)


def distance(a: bytes, b: bytes) -> int:
    return int(np.bitwise_count(np.frombuffer(a, np.uint8) ^ np.frombuffer(b, np.uint8)).sum())


@dataclass
class Attack:
    """One attacker: how it batches its questions and whether it hides them among random fillers."""

    ask: Ask
    bits: int
    fillers: int = 0
    batch: int = 1
    outside: bool = False
    """Read bits from the first point past the edge (no match) instead of the last one inside."""
    reads: int | None = None
    """Stop after reading this many bits (a walk that means to go on elsewhere); None: every bit."""
    seed: int = 1
    learned: int = 0
    calls: int = 0
    rng: np.random.Generator = field(init=False)

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng(self.seed)

    def _ask(self, codes: Sequence[bytes]) -> list[bool]:
        noise = [
            bytes(self.rng.integers(0, 256, self.bits // 8, dtype=np.uint8)) for _ in range(self.fillers)
        ]
        mixed = [*noise[: self.fillers // 2], *codes, *noise[self.fillers // 2 :]]
        answers = self.ask(mixed)
        self.calls += 1
        start = self.fillers // 2
        return answers[start : start + len(codes)]

    def run(self, start: bytes) -> int:
        """Walk from ``start`` (a matching hash) and read bits until stopped or done; the number of
        bits of the entry learned."""
        try:
            edge_in, edge_out, used = self._to_edge(start)
            centre = edge_out if self.outside else edge_in
            self.learned = 1  # the bit whose flip crossed the edge
            pending = [bit for bit in range(self.bits) if bit != used][: self.reads]
            for first in range(0, len(pending), self.batch):
                chunk = pending[first : first + self.batch]
                self._ask([flip_bit(centre, bit) for bit in chunk])
                self.learned += len(chunk)
        except Stopped:
            pass
        return self.learned

    def _to_edge(self, start: bytes) -> tuple[bytes, bytes, int]:
        """The last matching point and the first non-matching one of a walk flipping bits in order."""
        point = start
        for bit in range(self.bits):
            candidate = flip_bit(point, bit)
            if self._ask([candidate])[0]:
                point = candidate
            else:
                return point, candidate, bit
        raise AssertionError("the walk never left the threshold")


def threshold_oracle(listed: bytes, threshold: int) -> Ask:
    """Answers of a service without any guard: the baseline every attack succeeds against."""

    def ask(codes: Sequence[bytes]) -> list[bool]:
        return [distance(code, listed) <= threshold for code in codes]

    return ask

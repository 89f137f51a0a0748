"""Flagging probing: a client that sends many near-identical perceptual hashes may be walking a listed
hash bit by bit (REFERENCE: lists have been reconstructed through blocking systems). Per key, the last
``window`` perceptual query hashes of each type are kept in memory only (never stored), and a query
within ``near`` bits of one of them, yet not identical, counts as a probe. Crossing ``limit`` probes
within the window flags the key once per ``window`` queries; flags are for review (the audit log),
not a block: a hoster's storage holds resized copies too."""

import threading
from dataclasses import dataclass, field

import numpy as np

from matcher import HASH_TYPES
from matcher.codes import Codes

NEAR_BITS = {"pdq": 24, "phash": 6, "dhash": 6, "ahash": 4, "whash": 4}
_POPCOUNT = np.array([bin(value).count("1") for value in range(256)], dtype=np.uint16)


@dataclass
class _Recent:
    codes: Codes
    probes: np.ndarray  # 1 where the query at that slot was a probe
    next_slot: int = 0
    seen: int = 0
    flagged_at: int = -(10**9)


@dataclass
class ProbeDetector:
    window: int = 512
    limit: int = 64
    _recent: dict[tuple[int, str], _Recent] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def observe(self, key_id: int, hash_type: str, codes: Codes) -> int | None:
        """Record a call's query codes of one type; the number of probes in the window if this call
        makes the key cross the limit (once per window), else None."""
        near = NEAR_BITS.get(hash_type)
        if near is None or codes.shape[0] == 0:
            return None
        with self._lock:
            recent = self._recent.get((key_id, hash_type))
            if recent is None:
                nbytes = HASH_TYPES[hash_type].nbytes
                recent = _Recent(np.zeros((0, nbytes), np.uint8), np.zeros(self.window, np.uint8))
                self._recent[(key_id, hash_type)] = recent
            for code in codes[-self.window :]:
                if recent.codes.shape[0]:
                    distances = _POPCOUNT[np.bitwise_xor(recent.codes, code)].sum(axis=1)
                    probe = bool(((distances > 0) & (distances <= near)).any())
                else:
                    probe = False
                self._remember(recent, code, probe)
            probes = int(recent.probes.sum())
            if probes >= self.limit and recent.seen - recent.flagged_at >= self.window:
                recent.flagged_at = recent.seen
                return probes
            return None

    def _remember(self, recent: _Recent, code: Codes, probe: bool) -> None:
        slot = recent.next_slot
        if recent.codes.shape[0] < self.window:
            recent.codes = np.vstack([recent.codes, code[None, :]])
        else:
            recent.codes[slot] = code
        recent.probes[slot] = probe
        recent.next_slot = (slot + 1) % self.window
        recent.seen += 1

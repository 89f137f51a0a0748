"""How far each scanned file's hashes are from the served list entries, per perceptual type: the nearest
entry of its own picture (how far a miss is from matching) and the nearest entry of any other picture
(the margin a false positive would have to cross). Computed on this side from the hashes the scan sent
(its state file) and the served entries (the server's database): what only the benchmark may know."""

from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

PERCEPTUAL = ("pdq", "phash", "dhash")

Codes = npt.NDArray[np.uint8]


class Entries:
    """The served perceptual entries: per type, their codes (one row each) and their list items."""

    def __init__(self, rows: Iterable[tuple[str, bytes, str | None]]) -> None:
        grouped: dict[str, tuple[list[bytes], list[str]]] = {}
        for hash_type, value, item in rows:
            if hash_type in PERCEPTUAL:
                codes, items = grouped.setdefault(hash_type, ([], []))
                codes.append(value)
                items.append(item or "")
        self.codes: dict[str, Codes] = {
            name: np.frombuffer(b"".join(codes), np.uint8).reshape(len(codes), -1)
            for name, (codes, _) in grouped.items()
        }
        self.items = {name: np.array(items) for name, (_, items) in grouped.items()}

    def nearest(
        self, hashes: Sequence[Sequence[object]], own: str | None
    ) -> tuple[dict[str, int], dict[str, int]]:
        """For the ``[type, hex, ...]`` hashes of one file: the smallest distance per type to an entry of
        item ``own``, and to an entry of any other item."""
        mine: dict[str, int] = {}
        others: dict[str, int] = {}
        for name, codes in self.codes.items():
            sent = [bytes.fromhex(str(row[1])) for row in hashes if row[0] == name]
            if not sent:
                continue
            queries = np.frombuffer(b"".join(sent), np.uint8).reshape(len(sent), -1)
            xor = queries[:, None, :] ^ codes[None, :, :]
            distances = (
                np.unpackbits(xor, axis=2).sum(axis=2).min(axis=0)
            )  # per entry, over the file's hashes
            is_own = self.items[name] == own
            if is_own.any():
                mine[name] = int(distances[is_own].min())
            if (~is_own).any():
                others[name] = int(distances[~is_own].min())
        return mine, others

"""Secrets kept in the database (webhook signing secrets) are sealed with the server's key: Fernet
(AES-128-CBC and HMAC-SHA256), so a copy of the database alone does not let anyone sign as hashmatch.

The key is the ``secret_key`` setting: Fernet keys, comma-separated; the first seals, every one unseals
(``MultiFernet``), so a key is rotated by putting the new one first. Without it, a key is generated once
in a file readable by its owner only (mode 0600); replicas must then share that key through the setting.
"""

import contextlib
import os
import secrets
from functools import cached_property
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

__all__ = ["InvalidToken", "Sealer"]


class Sealer:
    """Seals and unseals short secrets with the server key (loaded, or generated, on first use)."""

    def __init__(self, keys: str, key_file: Path) -> None:
        self._keys = [key.strip() for key in keys.split(",") if key.strip()]
        self._key_file = key_file

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode("ascii")

    def unseal(self, sealed: str) -> str:
        """The secret; raises ``InvalidToken`` if no key of this server sealed it."""
        return self._fernet.decrypt(sealed.encode("ascii")).decode()

    @cached_property
    def _fernet(self) -> MultiFernet:
        keys = self._keys or [_generated_key(self._key_file)]
        return MultiFernet([Fernet(key) for key in keys])


def _generated_key(path: Path) -> str:
    """The key in ``path``, written first if missing: to a private temporary file, then linked into place,
    so concurrent processes all end up with the one key that won."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(Fernet.generate_key())
                file.flush()
                os.fsync(file.fileno())
            with contextlib.suppress(FileExistsError):  # another process's key won
                os.link(draft, path)
        finally:
            draft.unlink()
    return path.read_text().strip()

"""Random identifiers and secrets as lowercase base32 text."""

import base64
import secrets


def random_token(nbytes: int) -> str:
    """``nbytes`` random bytes as lowercase base32 without padding (8 characters per 5 bytes)."""
    return base64.b32encode(secrets.token_bytes(nbytes)).decode("ascii").rstrip("=").lower()

"""The secret key of pseudonymisation and the random generators derived from it.

Every surrogate is drawn from a :class:`random.Random` seeded with
``HMAC-SHA256(key, patient | label | value)``: the same value of the same patient gets the
same surrogate in every document and in any document order, and nobody without the key can
recompute the surrogates (or the date offset) from the originals. The key itself is never
printed: it comes from the environment, an untracked file or ``params.yaml``, in that order.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import random
from pathlib import Path

#: A shorter key is refused: it could be guessed and the date shift recomputed.
MIN_KEY_CHARS = 16
_SEP = "\x1f"


class KeyConfigError(ValueError):
    """No usable pseudonymisation key; the message says where to put one (never the key)."""


def resolve_key(
    *, env: str, key_file: str | None = None, key: str | None = None, where: str = "pseudonymise"
) -> bytes:
    """The pseudonymisation key: environment variable ``env``, else ``key_file``, else ``key``.

    Raises
    ------
    KeyConfigError
        No key is set, or it is shorter than :data:`MIN_KEY_CHARS` characters.
    """
    value: str | None = os.environ.get(env) or None
    origin = f"environment variable {env}"
    if value is None and key_file:
        path = Path(key_file)
        if not path.is_file():
            raise KeyConfigError(f"{where}.key_file: {path} does not exist; create it (untracked)")
        value = path.read_text(encoding="utf-8").strip() or None
        origin = f"key file {path}"
    if value is None and key:
        value, origin = key, f"{where}.key in params.yaml"
    if value is None:
        raise KeyConfigError(
            f"no pseudonymisation key: set the environment variable {env} "
            f"(or {where}.key_file, an untracked file holding the key)"
        )
    if len(value) < MIN_KEY_CHARS:
        raise KeyConfigError(f"the key from {origin} is too short: use {MIN_KEY_CHARS}+ characters")
    return value.encode("utf-8")


def derive_seed(key: bytes, *parts: str) -> int:
    """256-bit seed ``HMAC-SHA256(key, parts joined)``: one per patient, label and value."""
    message = _SEP.join(parts).encode("utf-8")
    return int.from_bytes(hmac.new(key, message, hashlib.sha256).digest(), "big")


def derive_rng(key: bytes, *parts: str) -> random.Random:
    """A generator seeded by :func:`derive_seed` (independent of any other draw)."""
    return random.Random(derive_seed(key, *parts))

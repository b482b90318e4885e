"""HMAC-SHA256 signatures for upload URLs and storage (ref) URLs, per-process secret."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping, Sequence


class Signer:
    """Signs ``purpose:subject:expires`` with a secret that lives as long as the object."""

    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret if secret is not None else secrets.token_bytes(32)

    def sign(self, purpose: str, subject: str, expires: int) -> str:
        """Hex HMAC-SHA256 of ``purpose:subject:expires``."""
        message = f"{purpose}:{subject}:{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def verify(self, purpose: str, subject: str, expires: int, signature: str) -> bool:
        """Constant-time check of ``signature``."""
        return hmac.compare_digest(self.sign(purpose, subject, expires), signature)


def signed_query(query: Mapping[str, Sequence[str]], signature: str) -> tuple[int, str] | None:
    """``(expires, signature)`` from a signed URL's query, or None if it was altered.

    The query must be exactly ``expires`` and the ``signature`` parameter, once each, with
    ``expires`` in the digits it was signed with: ``int()`` alone would also take
    ``" 1795866749"``, ``"+1795866749"``, ``"01795866749"`` or ``"1_795_866_749"``.
    """
    if set(query) != {"expires", signature} or any(len(v) != 1 for v in query.values()):
        return None
    raw = query["expires"][0]
    if not (raw.isascii() and raw.isdigit()) or raw != str(int(raw)):
        return None
    return int(raw), query[signature][0]

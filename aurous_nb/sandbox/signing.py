"""HMAC-SHA256 signatures for upload URLs and storage (ref) URLs, per-process secret."""

from __future__ import annotations

import hashlib
import hmac
import secrets


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

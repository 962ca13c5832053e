"""Pseudonymous user keys: a keyed hash of the platform's user id, never the id itself."""

from __future__ import annotations

import hashlib
import hmac


def pseudonym(platform: str, user_id: str | int, secret: str) -> str:
    """A stable key for one person on one platform that cannot be turned back into their id."""
    digest = hmac.new(secret.encode(), f"{platform}:{user_id}".encode(), hashlib.sha256).hexdigest()
    return f"{platform}-{digest[:32]}"

"""Redirect targets that stay on this site."""

from __future__ import annotations

import unicodedata
from urllib.parse import urlsplit


def local_path(target: str | None) -> str | None:
    """`target` when it is a path on this site, else None (no open redirects, no header injection)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    if any(unicodedata.category(char) == "Cc" for char in target):  # CR/LF would break the Location header
        return None
    parts = urlsplit(target)
    return None if parts.scheme or parts.netloc else target

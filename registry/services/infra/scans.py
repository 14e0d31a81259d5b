"""Signed agreement scans (PDF or image), kept under instance/scans/."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import BinaryIO

from flask import current_app
from flask_babel import gettext as _

from registry.services import RecordInvalid

# What a file's first bytes say it is; the name's extension is not trusted.
SIGNATURES = {
    b"%PDF-": ".pdf",
    b"\x89PNG\r\n\x1a\n": ".png",
    b"\xff\xd8\xff": ".jpg",
}
MEDIA_TYPES = {".pdf": "application/pdf", ".png": "image/png", ".jpg": "image/jpeg"}


def folder() -> Path:
    """SCANS_DIR, or instance/scans."""
    path = Path(current_app.config.get("SCANS_DIR") or Path(current_app.instance_path) / "scans")
    path.mkdir(parents=True, exist_ok=True)
    return path


def sniff(head: bytes) -> str | None:
    """The extension the content shows, or None when it is no PDF, PNG or JPEG."""
    return next((ext for magic, ext in SIGNATURES.items() if head.startswith(magic)), None)


def store(stream: BinaryIO) -> str:
    """Save an uploaded scan; returns its stored name. Refuses what is not a PDF or image."""
    data = stream.read()
    extension = sniff(data[:16])
    if extension is None:
        raise RecordInvalid({"scan": _("扫描件须为 PDF、PNG 或 JPEG 文件")})
    name = f"{secrets.token_hex(16)}{extension}"
    (folder() / name).write_bytes(data)
    return name


def path_of(name: str) -> Path:
    """Where a stored scan lies (names are ours: hex plus a known extension)."""
    return folder() / Path(name).name


def media_type(name: str) -> str:
    return MEDIA_TYPES.get(Path(name).suffix, "application/octet-stream")


def discard(name: str | None) -> None:
    """Remove a stored scan that did not end up on a saved agreement."""
    if name:
        path_of(name).unlink(missing_ok=True)

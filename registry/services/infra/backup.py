"""Backups: SQLite's online backup API, or pg_dump / pg_restore for PostgreSQL."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess  # noqa: S404 - runs pg_dump / pg_restore with a fixed argument list
from pathlib import Path

from sqlalchemy.engine import make_url

from registry.extensions import db


class BackupError(Exception):
    """A backup or restore that could not be made."""


def _libpq_url() -> str:
    """The database URL as pg_dump and pg_restore take it (no driver name)."""
    url = make_url(db.engine.url.render_as_string(hide_password=False))
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed (PostgreSQL client tools)")
    return path


def backup(target: Path) -> None:
    """Write a consistent copy of the live database to `target` while the app keeps running."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if db.engine.dialect.name == "sqlite":
        raw = db.engine.raw_connection()
        try:
            destination = sqlite3.connect(target)
            with destination:
                raw.driver_connection.backup(destination)
            destination.close()
        finally:
            raw.close()
        return
    result = subprocess.run(  # noqa: S603
        [_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={target}", _libpq_url()],
        capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        raise BackupError(result.stderr.strip())


def restore(source: Path) -> None:
    """Replace the database's contents with a backup made by `backup`."""
    if not source.is_file():
        raise BackupError(f"{source} does not exist")
    db.session.remove()
    db.engine.dispose()
    if db.engine.dialect.name == "sqlite":
        origin = sqlite3.connect(source)
        try:
            if origin.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise BackupError(f"{source} fails PRAGMA integrity_check")
            raw = db.engine.raw_connection()
            try:
                origin.backup(raw.driver_connection)
            finally:
                raw.close()
        finally:
            origin.close()
        return
    result = subprocess.run(  # noqa: S603
        [_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction",
         f"--dbname={_libpq_url()}", str(source)],
        capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        raise BackupError(result.stderr.strip())

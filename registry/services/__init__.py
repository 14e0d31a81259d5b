"""Business rules shared by pages, the CLI and the API.

Services add and flush; the caller (a view or a CLI command) owns the commit.
"""

from sqlalchemy import or_

# More beds or people than any register holds; a larger number overflows an INTEGER column.
MAX_COUNT = 10_000_000


def containing(text: str, *columns):
    """SQL condition: any of `columns` contains `text` (case-insensitive), for the search boxes."""
    term = f"%{text.strip()}%"
    return or_(*(column.ilike(term) for column in columns))


class RecordInvalid(Exception):
    """Input that breaks a rule; `errors` maps a field name to a Chinese message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class StaleEdit(Exception):
    """The record changed since the form was opened (the version no longer matches)."""

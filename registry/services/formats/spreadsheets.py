"""The one writer of every cell the registry puts in a spreadsheet (.xlsx or .csv).

A spreadsheet runs text that starts with = + - @ as a formula (CSV injection,
OWASP), and Excel and LibreOffice also when spaces, tabs or line breaks come
first. Such text is written with a leading apostrophe, which shows it as text;
the importer's `unescape` takes exactly that apostrophe off again. A value
that itself starts with apostrophes before such text gets one more, so that
every value, apostrophes and all, survives export → import.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from datetime import date
from typing import Any

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

# A tab or CR anywhere at the start, or = + - @ after any leading whitespace.
_FORMULA = re.compile(r"[\t\r]|[ \t\r\n]*[=+\-@]")
_APOSTROPHES = re.compile(r"'*")


def _runs_as_formula(text: str) -> bool:
    return _FORMULA.match(text) is not None


def _escaped(text: str) -> bool:
    """Apostrophes, then text that would run as a formula: what `escape` produces."""
    rest = text[_APOSTROPHES.match(text).end():]
    return rest != text and _runs_as_formula(rest)


def escape(text: str) -> str:
    """Text a spreadsheet would run as a formula (or that `unescape` would shorten) gets a leading apostrophe."""
    return "'" + text if _runs_as_formula(text) or _escaped(text) else text


def unescape(text: str) -> str:
    """Undo `escape`: the apostrophe it added, and nothing else."""
    return text[1:] if text.startswith("'") and _escaped(text) else text


def safe_cell(value: Any) -> Any:
    """A value as an .xlsx cell: text escaped, numbers and dates as they are.

    Control characters other than tab, CR and LF cannot be stored in an .xlsx file at all
    (openpyxl refuses the whole workbook), so they are left out of the cell.
    """
    return escape(ILLEGAL_CHARACTERS_RE.sub("", value)) if isinstance(value, str) else value


def csv_cell(value: Any) -> str:
    """A value as a CSV cell: empty for None, dates as YYYY-MM-DD, text escaped."""
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    return escape(value) if isinstance(value, str) else str(value)


def append(sheet: Any, values: Iterable[Any]) -> None:
    """Append one row to an openpyxl worksheet (write-only or not), every cell through `safe_cell`."""
    sheet.append([safe_cell(value) for value in values])


def csv_bytes(header: Iterable[Any], rows: Iterable[Iterable[Any]]) -> bytes:
    """A CSV file as UTF-8 with a BOM (so Excel shows the Chinese), CRLF line ends, every cell through `csv_cell`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([csv_cell(value) for value in header])
    for row in rows:
        writer.writerow([csv_cell(value) for value in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")

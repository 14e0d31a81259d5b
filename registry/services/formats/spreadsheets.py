"""The one writer of every cell the registry puts in a spreadsheet (.xlsx or .csv), and of every sheet's layout.

A spreadsheet runs text that starts with = + - @ as a formula (CSV injection,
OWASP), and Excel and LibreOffice also when spaces, tabs or line breaks come
first. Such text is written with a leading apostrophe, which shows it as text;
the importer's `unescape` takes exactly that apostrophe off again. A value
that itself starts with apostrophes before such text gets one more, so that
every value, apostrophes and all, survives export → import.

Staff open every workbook in Excel or WPS, then print it or send it upward, so every
sheet is written ready for that (`write_table`, or `append` and `ready_to_print` for a
sheet laid out by hand): a bold header row, frozen, with an autofilter; columns as wide as
their content, a CJK character counting as two, a very long column capped and wrapped;
shares as percentages, dates as date cells, codes as text; A4, landscape when the table is
too wide for portrait, fitted to the page's width, the header on every page, and the title
and date in the page header.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from itertools import chain, islice, zip_longest
from typing import Any

from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

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


def csv_bytes(header: Iterable[Any], rows: Iterable[Iterable[Any]]) -> bytes:
    """A CSV file as UTF-8 with a BOM (so Excel shows the Chinese), CRLF line ends, every cell through `csv_cell`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([csv_cell(value) for value in header])
    for row in rows:
        writer.writerow([csv_cell(value) for value in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


# --- sheets ready to read and print ------------------------------------------------------------

# What a column holds, which decides how its cells show.
TEXT = "text"
CODE = "code"  # credit codes, licence and filing numbers, registry codes, phone numbers: text, leading zeros kept
NUMBER = "number"
SHARE = "share"  # a fraction, shown as a percentage
DATE = "date"
TIME = "time"  # a date and a time of day
FORMATS = {CODE: "@", SHARE: "0.0%", DATE: "yyyy-mm-dd", TIME: "yyyy-mm-dd hh:mm"}
WHOLE_NUMBER = "0"  # a long whole number shown in full, never as 1.38E+10
LONG_NUMBER = 10**10  # Excel's General format turns whole numbers of 11 digits or more into 1.2E+10

MAX_WIDTH = 60  # a wider column is capped and wraps its text
SAMPLE = 1000  # a streamed (write-only) sheet is measured on its first rows: it is never held whole
# Character columns an A4 page holds across at 100% within its margins; a wider table prints landscape.
PORTRAIT_WIDTH = 90
BOLD = Font(bold=True)
WRAP = Alignment(wrap_text=True, vertical="top")


def display_width(value: Any, kind: str = TEXT) -> int:
    """Character columns a value takes in Excel or WPS: its longest line, a CJK (wide) character counting as two."""
    if value is None:
        return 0
    if kind == TIME or (isinstance(value, datetime) and kind != DATE):
        return len("yyyy-mm-dd hh:mm")
    if isinstance(value, date):
        return len("yyyy-mm-dd")
    if kind == SHARE and isinstance(value, int | float):
        return len(f"{value:.1%}")
    text = f"{value:g}" if isinstance(value, float) and value.is_integer() else str(value)
    return max(sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in line)
               for line in text.split("\n"))


def widen(widths: list[int], values: Sequence[Any], kinds: Sequence[str] = ()) -> list[int]:
    """The column widths, widened where a row's values need more (content plus a margin of two)."""
    needed = [display_width(value, _kind(kinds, index)) + 2 if value is not None else 0
              for index, value in enumerate(values)]
    return [max(pair) for pair in zip_longest(widths, needed, fillvalue=0)]


def set_widths(sheet: Any, widths: Sequence[int]) -> frozenset[int]:
    """Set the columns' widths, capped at MAX_WIDTH; the capped columns (0-based), whose cells wrap."""
    for index, width in enumerate(widths):
        sheet.column_dimensions[get_column_letter(index + 1)].width = min(max(width, 4), MAX_WIDTH)
    return frozenset(index for index, width in enumerate(widths) if width > MAX_WIDTH)


def _kind(kinds: Sequence[str], index: int) -> str:
    return kinds[index] if index < len(kinds) else TEXT


def cell(sheet: Any, value: Any, kind: str = TEXT, wrap: bool = False, bold: bool = False) -> Any:
    """A value ready for `sheet.append`: through `safe_cell`, with the number format its kind shows it in.

    Plain values stay plain (a streamed sheet of 100,000 rows creates no cell object it need not).
    """
    value = safe_cell(value)
    if value is None:
        return None
    number_format = None
    if kind in FORMATS and not (kind == CODE and not isinstance(value, str)):
        number_format = FORMATS[kind]
    elif isinstance(value, datetime):
        number_format = FORMATS[TIME]
    elif isinstance(value, date):
        number_format = FORMATS[DATE]
    elif isinstance(value, int | float) and not isinstance(value, bool) and abs(value) >= LONG_NUMBER \
            and float(value).is_integer():
        number_format = WHOLE_NUMBER
    wrap = wrap or (isinstance(value, str) and "\n" in value)
    if number_format is None and not wrap and not bold:
        return value
    styled = WriteOnlyCell(sheet, value)
    if number_format is not None:
        styled.number_format = number_format
    if wrap:
        styled.alignment = WRAP
    if bold:
        styled.font = BOLD
    return styled


def append(sheet: Any, values: Iterable[Any], kinds: Sequence[str] = (), wrapped: frozenset[int] = frozenset(),
           bold: bool = False) -> None:
    """Append one row to an openpyxl worksheet (write-only or not), every cell through `cell` (so `safe_cell`)."""
    sheet.append([cell(sheet, value, _kind(kinds, index), index in wrapped, bold)
                  for index, value in enumerate(values)])


def ready_to_print(sheet: Any, widths: Sequence[int], title: str, day: date,
                   header_rows: tuple[int, int], last_row: int | None = None) -> None:
    """Freeze below the header and filter on it; A4 fitted to the page's width, landscape when the table is
    wider than portrait holds; the header rows on every page; the title and the day in the page header.

    `header_rows` (first, last) are 1-based; the filter runs from the header's last row to `last_row`.
    A streamed sheet has its layout set before its first row is written (`write_table` does so).
    """
    first, last = header_rows
    sheet.freeze_panes = f"A{last + 1}"
    filter_rows(sheet, last, last_row or last, len(widths))
    sheet.print_title_rows = f"{first}:{last}"
    setup = sheet.page_setup
    setup.paperSize = Worksheet.PAPERSIZE_A4
    table_width = sum(min(width, MAX_WIDTH) for width in widths)
    setup.orientation = "landscape" if table_width > PORTRAIT_WIDTH else "portrait"
    setup.fitToWidth = 1
    setup.fitToHeight = 0  # as many pages down as it takes
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_options.horizontalCentered = True
    sheet.page_margins.left = sheet.page_margins.right = 0.5
    sheet.oddHeader.center.text = title.replace("&", "&&")  # & starts a code in a page header
    sheet.oddHeader.right.text = day.isoformat()
    sheet.oddFooter.center.text = "&P / &N"


def filter_rows(sheet: Any, header_row: int, last_row: int, columns: int) -> None:
    """The autofilter on the header row, over the rows down to `last_row`."""
    sheet.auto_filter.ref = f"A{header_row}:{get_column_letter(max(columns, 1))}{max(last_row, header_row)}"


def write_table(workbook: Workbook, name: str, header: Sequence[Sequence[Any]], rows: Iterable[Sequence[Any]],
                title: str, day: date, kinds: Sequence[str] = (),
                caption: Sequence[Any] | None = None) -> Any:
    """A sheet holding one table, ready to read and print: `header` rows (usually one), then `rows`.

    `kinds` says what each column holds (TEXT when not given). A bold `caption` row above the
    header says on screen what the page header says in print. In a write-only workbook the
    rows are streamed, and the widths fitted to the first SAMPLE rows.
    """
    sheet = workbook.create_sheet(name)
    rows = iter(rows)
    measured = list(islice(rows, SAMPLE)) if workbook.write_only else list(rows)
    widths: list[int] = []
    for values in header:
        widths = widen(widths, values)
    for values in measured:
        widths = widen(widths, values, kinds)
    wrapped = set_widths(sheet, widths)
    first = 2 if caption is not None else 1
    last = first + len(header) - 1
    ready_to_print(sheet, widths, title, day, (first, last))
    if caption is not None:
        append(sheet, caption, bold=True)
    for values in header:
        append(sheet, values, wrapped=wrapped, bold=True)
    count = 0
    for values in chain(measured, rows):
        append(sheet, values, kinds, wrapped)
        count += 1
    filter_rows(sheet, last, last + count, len(widths))
    return sheet

"""The import pages' forms that WTForms cannot declare: a select per column, an input per bad cell.

The mapping page has one field select per column of each bureau sheet, the report
one input per cell to blame and one choice per possible duplicate; their names
carry positions in what the server itself produced (the layouts, the job's
result), never an address the browser could make up.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from registry.models import ImportProfile, ImportUpload
from registry.services.formats import bureau
from registry.services.imports import profiles, uploaded

MAX_SHOWN_ERRORS = 500  # the report lists this many errors; the errors workbook has them all


@dataclass
class SheetProposal:
    """One bureau sheet on the mapping page: its columns, the field of each, and the saved mapping it matches."""

    layout: bureau.Layout
    choice: bureau.SheetChoice
    options: list[tuple[str, str]]
    profile: ImportProfile | None = None
    profile_name: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def needs_kind(self) -> bool:
        return self.layout.table.table == "institutions" and not self.layout.kind_column

    def field_of(self, column: Any) -> str:
        return self.choice.fields.get(column.index, None if column.sequence else column.field) or ""


def shown(value: Any) -> str:
    """A sample cell as the sheet shows it: 60, not the 60.0 a workbook stores; a day without its midnight."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def proposal(layout: bureau.Layout, profile: ImportProfile | None, upload: ImportUpload) -> SheetProposal:
    """What the page proposes: the user's last choice, else the saved mapping of this header, else the synonyms'."""
    stored = uploaded.choices(upload).get(layout.key)
    if stored is not None:
        chosen = stored
    elif profile is not None:
        chosen = profiles.choice(profile, layout)
    else:
        chosen = bureau.SheetChoice(layout.kind if not layout.kind_column else None, {})
    options = bureau.field_choices(layout.table.table, None)
    return SheetProposal(layout, chosen, options, profile, profile.name if profile is not None else "")


def take(sheets: list[SheetProposal], form: Mapping[str, str]) -> bool:
    """Read the page's answers into the proposals; whether any sheet has a problem (each noted on it)."""
    failed = False
    for number, sheet in enumerate(sheets):
        allowed = {name for name, _label in sheet.options}
        fields: dict[int, str | None] = {}
        for column in sheet.layout.table.columns:
            wanted = form.get(f"field-{number}-{column.index}", "")
            fields[column.index] = wanted if wanted in allowed else None
        kind = form.get(f"kind-{number}", "") if sheet.needs_kind else ""
        sheet.choice = bureau.SheetChoice(kind if kind in ("eldercare", "medical") else None, fields)
        sheet.profile_name = form.get(f"profile-{number}", "").strip()[:profiles.MAX_NAME]
        sheet.problems = bureau.choice_problems(sheet.layout, sheet.choice)
        failed = failed or bool(sheet.problems)
    return failed


def editable(errors: list[dict[str, Any]]) -> set[int]:
    """The positions of the errors that get an input on the report: the first of each cell to blame."""
    seen: set[tuple] = set()
    inputs: set[int] = set()
    for position, error in enumerate(errors):
        cell = (error.get("sheet"), error.get("row"), error.get("index"))
        if error.get("index") is None or not error.get("sheet") or cell in seen:
            continue
        seen.add(cell)
        inputs.add(position)
    return inputs


def corrections_from(result: dict[str, Any], form: Mapping[str, str]) -> dict[tuple[str, int, int], str]:
    """The cells the user changed on the report (inputs named by the error's position in the shown list)."""
    fixes = {}
    for position in editable(result["errors"][:MAX_SHOWN_ERRORS]):
        name = f"cell-{position}"
        if name not in form:
            continue
        error = result["errors"][position]
        value = form[name]
        if value != error.get("value", ""):
            fixes[(error["sheet"], error["row"], error["index"])] = value
    return fixes


def decisions_from(result: dict[str, Any], form: Mapping[str, str]) -> dict[tuple[str, int], str]:
    """Each possible duplicate the user settled: "new", or the code of one of its candidates."""
    decided = {}
    for position, duplicate in enumerate(result.get("duplicates", [])):
        answer = form.get(f"duplicate-{position}", "")
        if answer == "new" or answer in {c["code"] for c in duplicate["candidates"]}:
            decided[(duplicate["source"], duplicate["row"])] = answer
    return decided

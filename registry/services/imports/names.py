"""Hosts and agreement parties named rather than coded (docs/exchange-format.md), turned into codes before planning.

A bureau's sheet names a host (举办单位) or an agreement's parties (养老机构名称, 签约医疗卫生机构名称).
A name is looked up among the institutions of the kind it must be — in the register, as far
as the importer may read it (permissions.institutions_for), and in the same file — by its exact
text after NFKC normalising on both sides. When two institutions bear the name, the row's
region decides; when that leaves two (or none), the cell is an error listing the candidates
with their codes and regions, never a guess. A file row named this way that is not yet
registered gets its registry code now, so that the planner keeps it and the reference holds.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from registry import permissions
from registry.extensions import db
from registry.models import Institution, Region, User
from registry.services import institutions as institution_rules
from registry.services.formats import bureau_values
from registry.services.formats.bureau import NAMED
from registry.services.formats.columns import INSTITUTIONS, kind_label
from registry.services.formats.exchange import Sheet, Unreadable, map_header, parse_cell, parse_kind
from registry.services.identifiers import normalise_uscc
from registry.vocab import ELDERCARE, MEDICAL

OTHER_KIND = {ELDERCARE: MEDICAL, MEDICAL: ELDERCARE}


def name_key(name: Any) -> str:
    """A name as compared: NFKC, inner whitespace folded to one space, trimmed."""
    return " ".join(unicodedata.normalize("NFKC", str(name or "")).split())


@dataclass
class Candidate:
    """An institution a name may mean: registered (code), or a row of the file (and its code, once known)."""

    kind: str
    name: str
    region_code: str | None
    code: str | None = None
    row: tuple[Sheet, list[Any]] | None = None  # the file's row, when it is one
    uscc: str | None = None


def resolve_names(sheets: list[Sheet], user: User | None) -> None:
    """Replace the name columns of bureau sheets (host_name…) by code columns, each cell a code or an error."""
    named = [s for s in sheets if any(key in s.header for key in NAMED)]
    if not named:
        return
    Names(sheets, user).resolve(named)


class Names:
    """The institutions a file's names may mean: the register's the importer may read, and the file's rows."""

    def __init__(self, sheets: list[Sheet], user: User | None):
        self.regions = {r.code: r.name for r in db.session.scalars(select(Region))}
        query = select(Institution) if user is None else permissions.institutions_for(user)
        records = db.session.execute(query.with_only_columns(
            Institution.code, Institution.kind, Institution.name, Institution.region_code, Institution.uscc))
        self.register: dict[tuple[str, str], list[Candidate]] = {}
        self.by_uscc: dict[str, str] = {}
        for code, kind, name, region_code, uscc in records:
            self.register.setdefault((kind, name_key(name)), []).append(Candidate(kind, name, region_code, code))
            if uscc:
                self.by_uscc[uscc] = code
        self.file: dict[tuple[str, str], list[Candidate]] = {}
        file_codes: set[str] = set()
        for sheet in sheets:
            if sheet.table is INSTITUTIONS:
                for candidate in self._file_rows(sheet):
                    self.file.setdefault((candidate.kind, name_key(candidate.name)), []).append(candidate)
                    file_codes.add(candidate.code or "")
        self.codes = institution_rules.InstitutionCodes(reserved=file_codes)

    def _file_rows(self, sheet: Sheet) -> Iterable[Candidate]:
        """Each institution row of the file as a candidate: its kind, name, region, code and credit code."""
        # Only the cells a row is known by are read: a bureau's row has a dozen more.
        columns = {key: (INSTITUTIONS.column(key), index) for key, index in _positions(sheet).items()
                   if key in ("kind", "name", "region", "code", "uscc")}
        if "name" not in columns:
            return
        for _number, row in sheet.rows:
            cells = {key: _readable(column, row[index] if index < len(row) else None)
                     for key, (column, index) in columns.items()}
            kind = parse_kind(cells.get("kind"))
            if kind is None or not cells.get("name"):
                continue
            region = cells.get("region")
            if region and region not in self.regions:
                region = _region_or_none(region, self.regions)
            uscc = normalise_uscc(cells["uscc"]) if cells.get("uscc") else None
            yield Candidate(kind, cells["name"], region, cells.get("code"), (sheet, row), uscc)

    # --- resolving ----------------------------------------------------------------------------

    def resolve(self, sheets: list[Sheet]) -> None:
        for sheet in sheets:
            positions = _positions(sheet)
            for name_field, code_key in NAMED.items():
                if name_field not in sheet.header:
                    continue
                at = sheet.header.index(name_field)
                given = sheet.header.index(code_key) if code_key in sheet.header else None
                label = sheet.labels.pop(name_field, code_key)
                if given is None:  # the name column becomes the code column
                    sheet.header[at], sheet.labels[code_key], target = code_key, label, at
                else:  # a code given beside the name is the one used
                    sheet.header[at], target = "", given
                for _number, row in sheet.rows:
                    _widen(row, len(sheet.header))
                    name, row[at] = row[at], None
                    if name is None or (given is not None and row[target] is not None):
                        continue
                    if isinstance(name, Unreadable):
                        row[target] = name
                        continue
                    kind = self._kind_named(sheet, positions, row, name_field)
                    if kind is not None:
                        row[target] = self._code_of(name, kind, self._region_of(sheet, positions, row))

    def _kind_named(self, sheet: Sheet, positions: dict[str, int], row: list[Any], name_field: str) -> str | None:
        """The kind a name must be: the other kind for a host (内设), the party's kind in an agreement."""
        if name_field == "eldercare_name":
            return ELDERCARE
        if name_field == "medical_name":
            return MEDICAL
        kind = parse_kind(_cell(sheet, positions, row, "kind"))
        return OTHER_KIND.get(kind) if kind else None

    def _code_of(self, name: Any, kind: str, region_code: str | None) -> str | Unreadable:
        """The code of the one institution of `kind` bearing `name`, the region deciding between two."""
        candidates = self._candidates(name_key(name), kind)
        if len(candidates) > 1 and region_code:
            in_region = [c for c in candidates if c.region_code == region_code]
            candidates = in_region or candidates
        if not candidates:
            return Unreadable(_("未找到名为“%(name)s”的%(kind)s", name=name, kind=kind_label(kind)))
        if len(candidates) > 1:
            return Unreadable(_("名称“%(name)s”对应多个%(kind)s：%(candidates)s，请填写机构编码", name=name,
                                kind=kind_label(kind), candidates="、".join(map(self._shown, candidates))))
        return self._code_for(candidates[0])

    def _candidates(self, key: str, kind: str) -> list[Candidate]:
        """The register's institutions and the file's rows of that name, a row that is a registered one once."""
        found = {c.code: c for c in self.register.get((kind, key), [])}
        rows = []
        for candidate in self.file.get((kind, key), []):
            code = self._identity(candidate)
            if code is None:
                rows.append(candidate)
            else:
                found[code] = candidate
        return [*found.values(), *rows]

    def _identity(self, row: Candidate) -> str | None:
        """The code a file row has or will match: its own, its credit code's, or its name's in its region."""
        if row.code:
            return row.code
        if row.uscc and row.uscc in self.by_uscc:
            return self.by_uscc[row.uscc]
        same = [c for c in self.register.get((row.kind, name_key(row.name)), []) if c.region_code == row.region_code]
        return same[0].code if len(same) == 1 else None

    def _code_for(self, candidate: Candidate) -> str:
        """The candidate's code; a file row not yet registered gets its registry code now, in its `code` cell."""
        code = self._identity(candidate) if candidate.row else candidate.code
        if code is None:
            code = self.codes.next(candidate.kind)
        if candidate.row is not None and not candidate.code:
            sheet, row = candidate.row
            if "code" not in sheet.header:
                sheet.header.append("code")
            _widen(row, len(sheet.header))
            row[sheet.header.index("code")] = candidate.code = code
        return code

    def _region_of(self, sheet: Sheet, positions: dict[str, int], row: list[Any]) -> str | None:
        """The row's region (an institution's own), which decides between two institutions of one name."""
        if sheet.table is not INSTITUTIONS:
            return None
        region = _cell(sheet, positions, row, "region")
        return region if not region or region in self.regions else _region_or_none(region, self.regions)

    def _shown(self, candidate: Candidate) -> str:
        region = self.regions.get(candidate.region_code or "", candidate.region_code or "")
        code = self._identity(candidate) if candidate.row else candidate.code
        if code is None:
            sheet, row = candidate.row
            number = next(n for n, r in sheet.rows if r is row)
            where = _("%(source)s 第 %(row)s 行", source=sheet.source, row=number)
            return f"{candidate.name}（{where}，{region}）"
        return f"{candidate.name}（{code}，{region}）"


def _widen(row: list[Any], width: int) -> None:
    row.extend([None] * (width - len(row)))


def _readable(column, raw: Any) -> Any:
    try:
        return parse_cell(column, raw)
    except ValueError:
        return None


def _positions(sheet: Sheet) -> dict[str, int]:
    """Where each exchange column of a sheet is, by key."""
    return {column.key: index for index, column in map_header(sheet.table, sheet.header)[0].items()}


def _cell(sheet: Sheet, positions: dict[str, int], row: list[Any], key: str) -> Any:
    """A row's cell as the planner will read it (None when it cannot be read)."""
    index = positions.get(key)
    return _readable(sheet.table.column(key), row[index]) if index is not None and index < len(row) else None


def _region_or_none(raw: str, regions: dict[str, str]) -> str | None:
    try:
        return bureau_values.read_region(raw, regions)
    except ValueError:
        return None

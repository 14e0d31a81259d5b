"""Importing the exchange format (docs/exchange-format.md): validate everything, then write all or nothing.

`plan()` (planning.py) reads every row, resolves codes (in the register or anywhere
in the same file, in any order), applies the rights and the rules a form edit of
the same record has, and reports every bad row with its file, row, column and
reason, and what would be created, updated or left unchanged. `apply()`
(applying.py) writes a plan that has no errors, in bulk statements, with one
audit event per record ("import") and one for the import itself.
`plan_reading()` plans a bureau's own spreadsheet (formats.bureau), its hosts and
parties named rather than coded (names.py).
"""

from registry.services.imports.applying import apply, refresh_statistics
from registry.services.imports.planning import Plan, RowError, plan, plan_reading

__all__ = ["Plan", "RowError", "apply", "plan", "plan_reading", "refresh_statistics"]

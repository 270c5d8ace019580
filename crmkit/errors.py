"""The one exception family crmkit raises to callers.

Code and configuration problems raise a :class:`CrmkitError` subclass whose
message says what was wrong, where, and how to fix it. Problems with the
*data* (a bad email in row 17) never raise: they become rows in an issues
table and the original value is kept.
"""
from __future__ import annotations

from pathlib import Path


class CrmkitError(Exception):
    """Base class of every error crmkit raises on purpose.

    ``file``, ``sheet``, ``row`` and ``column`` locate the problem when known;
    ``hint`` tells the user how to fix it. ``str(err)`` reads as one sentence
    naming all of them.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        sheet: str | None = None,
        row: int | None = None,
        column: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.file = str(file) if file is not None else None
        self.sheet = sheet
        self.row = row
        self.column = column
        self.hint = hint
        super().__init__(self._format())

    def _format(self) -> str:
        where = []
        if self.file:
            where.append(self.file)
        if self.sheet:
            where.append(f"sheet {self.sheet!r}")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column {self.column!r}")
        text = f"{', '.join(where)}: {self.message}" if where else self.message
        if self.hint:
            text += f" (hint: {self.hint})"
        return text


class ReadError(CrmkitError):
    """A file could not be read: corrupt, encrypted, empty or not a spreadsheet."""


class MappingError(CrmkitError):
    """A column mapping is invalid or does not fit the file it is applied to."""


class SettingsError(CrmkitError):
    """Settings (matching, survivorship, pipeline, RFM) are invalid."""


class StoreError(CrmkitError):
    """A store could not be opened, written or read."""


class MissingDependencyError(CrmkitError):
    """An optional dependency is needed for this feature and is not installed."""


def require(module: str, extra: str, feature: str):
    """Import an optional dependency or raise a MissingDependencyError with an install hint."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependencyError(
            f"{feature} needs the optional package {module!r}, which is not installed",
            hint=f"pip install 'crmkit[{extra}]'",
        ) from exc

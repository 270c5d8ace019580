"""Map raw spreadsheet headers to canonical fields, and decide what a sheet holds.

A mapping is a value: print it, save it to JSON, edit it, pass it back.

>>> from crmkit.mapping import normalise_header
>>> normalise_header("  E-Mail Address: ")
'e mail address'
"""
from __future__ import annotations

import fnmatch
import json
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterable

import pandas as pd
from rapidfuzz import fuzz, process

from crmkit.clean._base import COPY_ON_WRITE
from crmkit.errors import MappingError
from crmkit.read import RawSheet
from crmkit.schema import ENTITIES, SOURCE_COLUMNS

MAPPING_VERSION = 1
FUZZY_CUTOFF = 88  # rapidfuzz ratio (0-100) a header must reach to map to a synonym it does not equal


def normalise_header(text: str) -> str:
    """Fold a header to a comparable key: NFKC, lower case, punctuation to spaces."""
    text = unicodedata.normalize("NFKC", str(text)).lower().strip()
    text = text.replace("№", "#").replace("＃", "#")
    text = re.sub(r"[\s_\-./:;,()\[\]{}*?!'\"|\\]+", " ", text)
    return re.sub(r"\s+", " ", text).strip()


@lru_cache(maxsize=None)
def _synonym_index(entity: str) -> tuple[dict[str, str], list[str]]:
    """normalised synonym -> field for one entity (field names themselves count as synonyms)."""
    index: dict[str, str] = {}
    for f in ENTITIES[entity].fields:
        for syn in (f.name, f.name.replace("_", " "), *f.synonyms):
            index.setdefault(normalise_header(syn), f.name)
    return index, list(index)


def _match_header(header: str, entity: str) -> tuple[str | None, float]:
    index, keys = _synonym_index(entity)
    key = normalise_header(header)
    if not key:
        return None, 0.0
    if key in index:
        return index[key], 100.0
    # headers like "Customer E-mail (work)": try without bracketed parts and trailing numbers
    stripped = normalise_header(re.sub(r"\(.*?\)|\[.*?\]|[€$£¥%]", " ", str(header)))
    stripped = re.sub(r"\s*\d+$", "", stripped).strip()
    if stripped and stripped in index:
        return index[stripped], 97.0
    if len(key) < 3 or not any(ch.isalpha() for ch in key):
        return None, 0.0
    best = process.extractOne(key, keys, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF)
    if best is None:
        return None, 0.0
    return index[best[0]], float(best[1])


@dataclass
class SheetMapping:
    """How one sheet maps to an entity: ``columns`` is raw header -> canonical field (None = kept as extra)."""

    file: str
    sheet: str
    entity: str | None
    columns: dict[str, str | None]
    header_row: int | None = None
    scores: dict[str, float] = field(default_factory=dict)

    @property
    def mapped(self) -> dict[str, str]:
        return {h: f for h, f in self.columns.items() if f}

    @property
    def unmapped(self) -> list[str]:
        return [h for h, f in self.columns.items() if not f]

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("scores")
        return d

    def describe(self) -> str:
        where = f"{self.file}" + (f" [{self.sheet}]" if self.sheet else "")
        head = f"{where}: {self.entity or 'not recognised'}" + (
            f" (header row {self.header_row})" if self.header_row else "")
        lines = [head]
        for h, f in self.columns.items():
            score = self.scores.get(h)
            how = "" if score is None or score >= 100 else f"  (fuzzy {score:.0f})"
            lines.append(f"  {h!s:<32} -> {f or '(kept as extra field)'}{how}")
        return "\n".join(lines)


@dataclass
class Mapping:
    """The mappings of many sheets; round-trips to JSON and is stored with every migration."""

    sheets: list[SheetMapping] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps({"version": MAPPING_VERSION, "sheets": [s.to_dict() for s in self.sheets]},
                          ensure_ascii=False, indent=2)

    @classmethod
    def from_json(cls, text: str, *, source: str | None = None) -> "Mapping":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise MappingError(f"the mapping is not valid JSON: {exc.msg} at line {exc.lineno}",
                               file=source, hint="check the file with a JSON validator") from None
        if not isinstance(data, dict) or not isinstance(data.get("sheets"), list):
            raise MappingError("a mapping must be an object with a 'sheets' list", file=source,
                               hint="start from the output of `crmkit map FILE --save mapping.json`")
        sheets, problems = [], []
        for i, s in enumerate(data["sheets"], 1):
            if not isinstance(s, dict) or "file" not in s or not isinstance(s.get("columns"), dict):
                problems.append(f"sheet entry {i} needs 'file' and 'columns'")
                continue
            entity = s.get("entity")
            if entity is not None and entity not in ENTITIES:
                problems.append(f"sheet entry {i} ({s['file']}): unknown entity {entity!r}; "
                                f"use one of {', '.join(ENTITIES)} or null")
                continue
            for header, fname in s["columns"].items():
                if fname and entity and fname not in ENTITIES[entity].field_names:
                    problems.append(f"{s['file']}: column {header!r} maps to unknown {entity} field "
                                    f"{fname!r}; valid fields: {', '.join(ENTITIES[entity].field_names)}")
            sheets.append(SheetMapping(file=s["file"], sheet=s.get("sheet", "") or "", entity=entity,
                                       columns=dict(s["columns"]), header_row=s.get("header_row")))
        if problems:
            raise MappingError("the mapping has problems: " + "; ".join(problems), file=source,
                               hint="fix the entries named above and pass the file again with --mapping")
        return cls(sheets)

    @classmethod
    def load(cls, path: str | Path) -> "Mapping":
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise MappingError(f"cannot read the mapping file: {exc.strerror}", file=path) from None
        return cls.from_json(text, source=str(path))

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json(), encoding="utf-8")

    def find(self, file: str, sheet: str) -> SheetMapping | None:
        """The entry for a sheet: exact file+sheet, then glob patterns; ``sheet`` '*' matches any sheet."""
        for s in self.sheets:
            if s.file == file and (s.sheet == sheet or s.sheet == "*"):
                return s
        for s in self.sheets:
            if fnmatch.fnmatch(file, s.file) and (fnmatch.fnmatch(sheet, s.sheet or "") or s.sheet == "*"):
                return s
        return None


def _score_entity(headers: Iterable[str], entity: str) -> tuple[float, dict[str, str | None], dict[str, float]]:
    columns: dict[str, str | None] = {}
    scores: dict[str, float] = {}
    used: set[str] = set()
    total = 0.0
    ent = ENTITIES[entity]
    candidates = []
    for h in headers:
        fname, score = _match_header(h, entity)
        candidates.append((h, fname, score))
    # strongest matches claim a field first; ties keep column order
    order = sorted(range(len(candidates)), key=lambda i: -candidates[i][2])
    chosen: dict[int, str] = {}
    for i in order:
        h, fname, score = candidates[i]
        if fname and fname not in used:
            used.add(fname)
            chosen[i] = fname
            total += score / 100 * (3 if ent.get(fname).identifying else 1)
    for i, (h, fname, score) in enumerate(candidates):
        columns[h] = chosen.get(i)
        if i in chosen:
            scores[h] = score
    return total, columns, scores


def infer_mapping(raw: RawSheet) -> SheetMapping:
    """Guess the entity and the column mapping of one sheet from its headers.

    >>> # m = infer_mapping(crmkit.read("leads.csv")[0]); print(m.describe())
    """
    headers = [str(c) for c in raw.frame.columns]
    best = None
    for entity in ENTITIES:
        total, columns, scores = _score_entity(headers, entity)
        if best is None or total > best[0] + 1e-9:
            best = (total, entity, columns, scores)
    total, entity, columns, scores = best
    if total < 1.5:  # not even one identifying column or two ordinary ones: not customer data we know
        entity = None
        columns = {h: None for h in headers}
        scores = {}
    return SheetMapping(file=raw.source_file, sheet=raw.sheet, entity=entity, columns=columns,
                        header_row=raw.header_row, scores=scores)


def map_sheets(sheets: list[RawSheet], mapping: Mapping | None = None) -> Mapping:
    """Mapping for each sheet: the user's entry where one fits, else the inferred one."""
    out = []
    for raw in sheets:
        given = mapping.find(raw.source_file, raw.sheet) if mapping else None
        if given is None:
            out.append(infer_mapping(raw))
            continue
        cols = {str(h): given.columns.get(str(h)) for h in raw.frame.columns}
        missing = [h for h in given.columns if h not in cols and given.columns[h]]
        if missing:
            raise MappingError(
                f"the mapping names columns the sheet does not have: {', '.join(map(repr, missing))}",
                file=raw.source_file, sheet=raw.sheet or None,
                hint=f"the sheet's columns are {', '.join(map(repr, cols))}; edit the mapping file")
        out.append(SheetMapping(file=raw.source_file, sheet=raw.sheet, entity=given.entity, columns=cols,
                                header_row=raw.header_row))
    return Mapping(out)


@dataclass
class MappedSheet:
    """One sheet after mapping: canonical columns (raw text), their cell kinds, and the unmapped extras."""

    raw: RawSheet
    mapping: SheetMapping
    frame: pd.DataFrame   # canonical fields + source_file, source_sheet, source_row
    kinds: pd.DataFrame   # cell kinds of the canonical fields
    extras: pd.DataFrame  # unmapped columns, original header names, same index

    @property
    def entity(self) -> str | None:
        return self.mapping.entity


def apply_mapping(raw: RawSheet, mapping: SheetMapping) -> MappedSheet:
    """Rename mapped columns to canonical fields; keep every unmapped column as an extra."""
    mapped = {h: f for h, f in mapping.columns.items() if f and h in raw.frame.columns}
    frame = raw.frame[list(mapped)].rename(columns=mapped)
    kinds = raw.kinds[list(mapped)].rename(columns=mapped) if raw.kinds is not None else None
    extras = raw.frame[[c for c in raw.frame.columns if c not in mapped]]
    if not COPY_ON_WRITE:  # (with copy-on-write, the new columns go into a new frame; the raw frame's are shared)
        frame = frame.copy()
    frame["source_file"] = raw.source_file
    frame["source_sheet"] = raw.sheet
    frame["source_row"] = raw.frame.index.astype("int64")
    return MappedSheet(raw=raw, mapping=mapping, frame=frame.reset_index(drop=True),
                       kinds=kinds.reset_index(drop=True) if kinds is not None else None,
                       extras=extras.reset_index(drop=True))


__all__ = ["SheetMapping", "Mapping", "MappedSheet", "infer_mapping", "map_sheets", "apply_mapping",
           "normalise_header", "SOURCE_COLUMNS"]

"""clean: one cleaner per kind of value, and ``clean()`` that runs them over a mapped frame.

Every cleaner is pure: it takes a Series of raw text (None for empty) and
returns ``CleanResult(values, problems)`` aligned with the input's index.
``clean(df, entity)`` applies the cleaner of each canonical field's kind
(crmkit.schema), adds the derived columns and collects the problems as
issues (``ISSUE_COLUMNS``).

>>> import pandas as pd
>>> df = pd.DataFrame({"full_name": ["MÜLLER, HANS"], "email": ["Hans <HANS@X.DE>"], "phone": ["030 1234567"],
...                    "country": ["Deutschland"], "source_file": ["a.csv"], "source_sheet": [""],
...                    "source_row": [2]})
>>> cleaned, issues = clean(df, "contact")
>>> cleaned.loc[0, ["full_name", "email", "phone", "country"]].tolist()
['Hans Müller', 'hans@x.de', '+49301234567', 'DE']
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from crmkit.clean._base import (COPY_ON_WRITE, PARALLEL_MIN_ROWS, CleanResult, Forked, factorize, normalize_text,
                                take)
from crmkit.clean.amounts import clean_amounts, clean_currency, clean_probabilities
from crmkit.clean.companies import _company_codes, _company_result, clean_companies, company_key
from crmkit.clean.countries import clean_countries
from crmkit.clean.dates import clean_dates
from crmkit.clean.emails import clean_emails
from crmkit.clean.names import clean_names
from crmkit.clean.phones import (
    _clean_phone_codes, _most_common_country, _phone_result, _region_codes, _region_from_numbers, clean_phones,
    infer_region,
)
from crmkit.clean.stages import STAGE_SYNONYMS, clean_stages
from crmkit.clean.text import clean_tags, clean_text
from crmkit.errors import CrmkitError
from crmkit.schema import ENTITIES, ISSUE_COLUMNS, SOURCE_COLUMNS

__all__ = [
    "CleanResult", "clean", "clean_text", "clean_tags", "clean_emails", "clean_phones", "infer_region",
    "clean_names", "clean_companies", "company_key", "clean_countries", "clean_dates", "clean_amounts",
    "clean_currency", "clean_probabilities", "clean_stages", "STAGE_SYNONYMS", "normalize_text",
    "CLEANED_COLUMNS",
]

# Columns of the cleaned frame per entity, before the provenance columns (docs/internals.md).
# ``<email field>_others`` holds the further addresses of a cell with several.
CLEANED_COLUMNS: dict[str, list[str]] = {
    "contact": ["first_name", "last_name", "full_name", "salutation", "email", "email_others", "phone",
                "phone_ext", "mobile", "company", "company_key", "job_title", "street", "postcode", "city",
                "region", "country", "website", "owner", "tags", "notes", "created_at"],
    "deal": ["name", "company", "company_key", "contact_email", "contact_email_others", "contact_name", "stage",
             "amount", "currency", "probability", "close_date", "owner", "created_at", "notes"],
    "order": ["order_id", "customer_email", "customer_email_others", "customer_name", "order_date", "amount",
              "currency", "status", "product", "quantity"],
}
_FLOAT_COLUMNS = {"amount", "probability", "quantity"}


class _Run:
    """State of one ``clean()`` call: the input, the cleaned columns and the problems."""

    def __init__(self, df: pd.DataFrame, kinds: pd.DataFrame | None) -> None:
        self.df = df
        self.kinds = kinds
        self.out: dict[str, pd.Series] = {}
        self.issues: list[pd.DataFrame] = []
        self.sources: dict[str, np.ndarray] = {}

    def source(self, name: str, rows: np.ndarray):
        """A provenance column at ``rows``: text columns (str dtype) as they are, others as an array, as
        DataFrame() turns them into the same column either way."""
        column = self.df[name]
        if isinstance(column.dtype, pd.StringDtype) and column.dtype == pd.StringDtype(na_value=np.nan):
            return column.array.take(rows)
        if name not in self.sources:
            self.sources[name] = column.to_numpy()
        return self.sources[name][rows]

    def raw(self, name: str) -> pd.Series | None:
        return self.df[name] if name in self.df.columns else None

    def kind(self, name: str) -> pd.Series | None:
        if self.kinds is not None and name in self.kinds.columns:
            return self.kinds[name]
        return None

    def report(self, column: str, problems: pd.Series, raw: pd.Series | list[pd.Series | None] | None) -> None:
        """Add the rows with a problem to the issues; ``raw`` is the raw column, or a list of columns whose
        first present value per row is the raw value (the last one's when none is)."""
        found = problems.to_numpy()
        rows = np.flatnonzero(pd.notna(found))
        if not len(rows):
            return
        frame = pd.DataFrame({c: (self.source(c, rows) if c in self.df.columns else None) for c in SOURCE_COLUMNS},
                             index=self.df.index[rows])
        frame["column"] = column
        if isinstance(raw, list):
            value = None
            for series in raw:
                if series is not None:
                    at = series.to_numpy()[rows]
                    value = at if value is None else np.where(pd.isna(value), at, value)
            raw = value
        elif raw is not None:
            raw = raw.to_numpy()[rows]
        frame["value"] = raw
        frame["problem"] = found[rows]
        self.issues.append(frame)


_NOT_COUNTRY_TLDS = {"io", "me", "tv", "ai", "cc", "ws", "fm", "ly", "to", "gg", "sh", "vc", "co", "ac", "eu",
                     "su", "nu", "la", "am", "bz", "tk", "ml", "ga", "cf", "gq", "app", "dev"}


_CCTLD_RE = re.compile(r"@[^@\s<>]+\.([A-Za-z]{2})\s*>?\s*$")


def _email_regions(df: pd.DataFrame, email_fields: list[str], rows: np.ndarray | None = None) -> pd.Series | None:
    """Per-row phone region from a country-code top-level domain of the row's email (.de → DE, .co.uk → GB).

    With ``rows`` (positions), only those rows are looked at; the others get None.
    """
    import phonenumbers

    if not email_fields:
        return None
    values = df[email_fields[0]]
    codes, uniq = factorize(values if rows is None else values.iloc[rows])  # each distinct address once
    supported = phonenumbers.SUPPORTED_REGIONS
    search = _CCTLD_RE.search
    regions: list[str | None] = []
    for value in uniq:
        m = search(value if isinstance(value, str) else str(value))
        tld = m.group(1).lower() if m is not None else None
        if tld is None or tld in _NOT_COUNTRY_TLDS:
            regions.append(None)
            continue
        code = ("gb" if tld == "uk" else tld).upper()
        regions.append(code if code in supported else None)
    if rows is None:
        return pd.Series(take(regions, codes), index=df.index, dtype=object, copy=False)
    out = np.full(len(df), None, dtype=object)
    out[rows] = take(regions, codes)
    return pd.Series(out, index=df.index, dtype=object, copy=False)


def _row_regions(df: pd.DataFrame, phone_fields: list[str], email_fields: list[str], countries: pd.Series | None,
                 region: str | None) -> pd.Series | str | None:
    """The region of each row's numbers without a country code: the row's country, else its email's
    country-code domain, else ``region``, else one inferred from the whole frame (see :func:`infer_region`)."""
    default = region
    if default is None:  # infer_region, with the countries cleaned already
        default = _most_common_country(countries) if countries is not None else None
        if default is None:
            texts = [df[c] for c in ("full_name", "last_name", "company", "city") if c in df.columns]
            default = _region_from_numbers(pd.concat([df[f] for f in phone_fields], ignore_index=True), None,
                                           texts=pd.concat(texts, ignore_index=True) if texts else None)
    # the email's domain only counts where the row has no country
    row_region = _email_regions(df, email_fields,
                                None if countries is None else np.flatnonzero(countries.isna().to_numpy()))
    if row_region is not None:
        row_region = row_region.where(row_region.notna(), default)
    else:
        row_region = default
    if countries is not None:
        row_region = countries.where(countries.notna(), row_region)
    return row_region


def clean(df: pd.DataFrame, entity: str, *, kinds: pd.DataFrame | None = None,
          region: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Clean every canonical field of ``df`` by its kind; return ``(cleaned, issues)``.

    ``df`` holds raw text in canonical field columns (any subset of the
    entity's fields) plus ``source_file, source_sheet, source_row``; other
    columns (``extra``, ids) pass through untouched. ``kinds`` is the reader's
    per-cell kind frame ('n', 'd', 's', ...). Phone numbers without a country
    code use the row's country, else ``region``, else a region inferred from
    the whole frame (:func:`infer_region`). The input is never mutated.

    The cleaned frame has the same index, the columns of ``CLEANED_COLUMNS[entity]``
    (missing ones as None), the provenance columns and then the pass-through
    columns. The issues frame has ``ISSUE_COLUMNS``; ``column`` is the canonical
    field and ``value`` the raw value.
    """
    if entity not in ENTITIES:
        raise CrmkitError(f"unknown entity {entity!r}", hint=f"use one of {', '.join(ENTITIES)}")
    spec = ENTITIES[entity]
    run = _Run(df, kinds)
    kinds_of = {f.name: f.kind for f in spec.fields}
    present = [f for f in spec.field_names if f in df.columns]

    # country first: it feeds the phone region and the French "M." reading
    countries = None
    if "country" in present:
        res = clean_countries(df["country"])
        run.out["country"] = countries = res.values
        run.report("country", res.problems, df["country"])

    # the phones (and their regions) of a long frame are cleaned in a forked process while this one cleans
    # the rest; the child sends back row codes and the result of each distinct (number, region) only
    # (and, to share the work out evenly, the company names too)
    phone_fields = [f for f in present if kinds_of[f] == "phone"]
    phones = None
    company_fields = []
    if phone_fields:
        email_fields = [f for f in present if kinds_of[f] == "email"]
        if len(df) >= PARALLEL_MIN_ROWS:
            company_fields = [f for f in present if kinds_of[f] == "company"]

        def clean_phone_fields():
            row_region = _row_regions(df, phone_fields, email_fields, countries, region)
            # the regions' codes, once for every phone column
            region_codes = _region_codes(row_region, df.index) if isinstance(row_region, pd.Series) else None
            out = []
            for f in phone_fields:
                codes, parts = _clean_phone_codes(df[f], region=row_region, region_codes=region_codes)
                out.append((codes.astype(np.int32), *parts))
            companies = []
            for f in company_fields:
                codes, *parts = _company_codes(df[f])
                companies.append((codes.astype(np.int32), *parts))
            return out, companies

        phones = Forked(clean_phone_fields) if len(df) >= PARALLEL_MIN_ROWS else None
    company_slots: dict[str, int] = {}  # where the issues of the company fields cleaned there go

    name_fields = [f for f in present if kinds_of[f] == "name"]
    if entity == "contact" and (name_fields or "salutation" in present):
        res = clean_names(run.raw("first_name"), run.raw("last_name"), run.raw("full_name"), country=countries,
                          salutation=run.raw("salutation"))
        for col in ("first_name", "last_name", "full_name", "salutation"):
            run.out[col] = res.values[col]
        run.report("full_name", res.problems, [run.raw("full_name"), run.raw("last_name"), run.raw("first_name")])
    else:
        for f in name_fields:
            res = clean_names(None, None, df[f], country=countries)
            run.out[f] = res.values["full_name"]
            run.report(f, res.problems, df[f])
    phone_slot = len(run.issues)

    amount_currency = None
    for f in present:
        kind = kinds_of[f]
        if f in run.out or kind in ("name", "phone", "country"):
            continue
        if f in company_fields:
            company_slots[f] = len(run.issues)
            continue
        raw = df[f]
        if kind == "email":
            res = clean_emails(raw)
            run.out[f], run.out[f"{f}_others"] = res.values["email"], res.values["email_others"]
        elif kind == "company":
            res = clean_companies(raw)
            run.out[f], run.out["company_key"] = res.values["company"], res.values["company_key"]
        elif kind == "date":
            res = clean_dates(raw, kinds=run.kind(f))
            run.out[f] = res.values
        elif kind == "amount":
            res = clean_amounts(raw, kinds=run.kind(f))
            run.out[f] = res.values["amount"]
            if f == "amount":
                amount_currency = res.values["currency"]
        elif kind == "currency":
            res = clean_currency(raw)
            run.out[f] = res.values
        elif kind == "probability":
            res = clean_probabilities(raw)
            run.out[f] = res.values
        elif kind == "stage":
            res = clean_stages(raw)
            run.out[f] = res.values
        elif kind == "tags":
            res = clean_tags(raw)
            run.out[f] = res.values
        else:
            res = clean_text(raw)
            run.out[f] = res.values
        run.report(f, res.problems, raw)

    if phone_fields:  # issues in the usual order: countries, names, phones, then the others
        rest = run.issues[phone_slot:]
        del run.issues[phone_slot:]
        phone_parts, company_parts = phones.result() if phones is not None else clean_phone_fields()
        for f, (codes, *parts) in zip(phone_fields, phone_parts):
            res = _phone_result(codes, *parts, df.index)
            run.out[f] = res.values["phone"]
            if f == "phone" or "phone" not in phone_fields:  # extensions belong to the main phone
                run.out["phone_ext"] = res.values["phone_ext"]
            run.report(f, res.problems, df[f])
        shift = len(run.issues) - phone_slot  # (the phones' issues come before every slot)
        run.issues.extend(rest)
        for f, (codes, *parts) in zip(company_fields, company_parts):  # each at its place among the others
            res = _company_result(codes, *parts, df.index)
            run.out[f], run.out["company_key"] = res.values["company"], res.values["company_key"]
            end = len(run.issues)
            run.report(f, res.problems, df[f])
            added = run.issues[end:]
            del run.issues[end:]
            at = company_slots[f] + shift
            run.issues[at:at] = added
            shift += len(added)

    if amount_currency is not None and "currency" in CLEANED_COLUMNS[entity]:
        given = run.out.get("currency")
        if given is None:
            run.out["currency"] = amount_currency
        else:
            clash = given.notna() & amount_currency.notna() & (given != amount_currency)
            run.report("currency", pd.Series(
                ("currency column says " + given + " but the amount says " + amount_currency).where(clash),
                index=df.index, dtype=object), df["currency"])
            run.out["currency"] = given.where(given.notna(), amount_currency)

    columns = {}
    for col in CLEANED_COLUMNS[entity]:
        if col in run.out:
            columns[col] = run.out[col]
        elif col in _FLOAT_COLUMNS:
            columns[col] = pd.Series(np.full(len(df), np.nan), index=df.index, dtype=float, copy=False)
        else:
            columns[col] = pd.Series(np.full(len(df), None, dtype=object), index=df.index, dtype=object, copy=False)
    for col in SOURCE_COLUMNS:
        columns[col] = df[col] if col in df.columns else \
            pd.Series(np.full(len(df), None, dtype=object), index=df.index, dtype=object)
    consumed = set(spec.field_names) | set(SOURCE_COLUMNS) | set(columns)
    for col in df.columns:
        if col not in consumed:
            columns[col] = df[col]
    # the columns as they are, not copied into one block, where copy-on-write keeps them from changing
    # (pandas 3): a copy of every column, and of every reference in them, saved
    cleaned = pd.DataFrame(columns, index=df.index, copy=not COPY_ON_WRITE)
    issues = (pd.concat(run.issues, ignore_index=True)[ISSUE_COLUMNS] if run.issues
              else pd.DataFrame({c: pd.Series(dtype=object) for c in ISSUE_COLUMNS}))
    return cleaned, issues
